"""Numbers and hours in graph files: checked in the file and across graphs, drawn as pinned.

tests/graph/lines/ holds two good graphs (front: numbers, office hours, after hours the
night graph; night: an after-hours greeting that takes a message). Set UPDATE_GOLDEN=1 to
rewrite their drawings after an intended change.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from agent.cli import graph as graph_cli
from agent.config import Config
from agent.errors import GraphError
from agent.graph import draw_mermaid, draw_text, load_graph, load_graphs, load_servable_graphs
from agent.graph.lines import number_map, read_numbers
from agent.graph.validate import validate_file

LINES = Path(__file__).parent / "lines"
GOLDEN = Path(__file__).parent / "golden"
KEYS = {"DEEPGRAM_API_KEY": "dg-test", "GROQ_API_KEY": "gq-test", "CARTESIA_API_KEY": "ca-test"}

NODES = """\
chain: [vad, stt, llm, tts]
nodes:
  vad: {type: silero_vad}
  stt: {type: deepgram_stt}
  llm: {type: groq_llm, prompt: prompts/p.md}
  tts: {type: cartesia_tts}
"""


def config(**env: str) -> Config:
    return Config.load(env=env, dotenv_path=None)


def folder(tmp_path: Path, **files: str) -> Path:
    """A graphs folder with the lines graphs plus `files` (name → the part before chain:)."""
    target = tmp_path / "graphs"
    shutil.copytree(LINES, target)
    for name, head in files.items():
        (target / f"{name}.yaml").write_text(f"name: {name}\n{textwrap.dedent(head)}{NODES}")
    return target


def problems(path: Path, **env: str) -> list[tuple[str, str]]:
    return [(p.location, p.message) for p in validate_file(path, config(**env)).problems]


def test_the_lines_graphs_load_with_numbers_and_hours():
    graphs = load_graphs(LINES, config())
    front, night = graphs["front"], graphs["night"]
    assert front.numbers == ("+15551230001", "+15551230002")
    assert night.numbers == ("+15551239999",)  # the unset ${env:...|} entry is skipped
    assert front.hours.timezone == "America/New_York"
    assert front.hours.after_hours.graph == "night"
    assert night.hours.after_hours.take_message
    assert number_map(graphs) == {
        "+15551230001": "front",
        "+15551230002": "front",
        "+15551239999": "night",
    }


def test_an_env_number_counts_when_set():
    night = load_graph(LINES / "night.yaml", config(NIGHT_EXTRA_NUMBER="+442071234567"))
    assert night.numbers == ("+15551239999", "+442071234567")


@pytest.mark.parametrize("fmt,suffix", [("text", "txt"), ("mermaid", "mmd")])
@pytest.mark.parametrize("name", ["front", "night"])
def test_drawings_show_numbers_and_hours(name, fmt, suffix):
    graph = load_graph(LINES / f"{name}.yaml", config())
    drawn = draw_text(graph) if fmt == "text" else draw_mermaid(graph)
    golden = GOLDEN / f"lines_{name}.{suffix}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(drawn)
    assert drawn == golden.read_text()


def test_graph_show_prints_the_weekly_table(capsys):
    assert graph_cli.show(str(LINES / "front.yaml"), "text", config()) == 0
    out = capsys.readouterr().out
    assert "numbers: +15551230001, +15551230002\nhours: America/New_York\n" in out
    assert "  sat  10:00-12:00, 13:00-14:00\n  sun  closed\n" in out
    assert "  closed: 2026-12-25, 2027-01-01\n  after hours: graph night answers\n" in out


def test_bad_hours_and_numbers_report_everything_with_did_you_mean(tmp_path):
    graphs = folder(
        tmp_path,
        bad="""\
        numbers: ["+1 (555) 123-0001", "5551230002", "+15551230003", "+15551230003", "call me"]
        hours:
          timezone: America/New_Yrok
          weekly:
            monday-friday: "09:00-17:00"
            mon-fri: ["09:00-17:00", "9-5"]
            thu: "12:00-13:00, 22:00-02:00"
            sat: "closed"
            sat-sun: "10:00-14:00"
            fri-mon: "08:00-09:00"
          closed: ["2026-12-25", "2026-13-01", "christmas", 2026-12-26 10:00]
          after_hours: {graph: nigth}
        """,
    )
    assert problems(graphs / "bad.yaml") == [
        ("numbers[0]", "'+1 (555) 123-0001' is not an E.164 number (+, country code, then digits: +15551234567) (did you mean '+15551230001'?)"),
        ("numbers[1]", "'5551230002' is not an E.164 number (+, country code, then digits: +15551234567); start it with + and the country code (US and Canada: '+15551230002')"),
        ("numbers[3]", "+15551230003 is already listed at numbers[2]"),
        ("numbers[4]", "'call me' is not an E.164 number (+, country code, then digits: +15551234567)"),
        ("hours.timezone", "unknown time zone 'America/New_Yrok' (did you mean 'America/New_York'?); use an IANA name like Europe/London"),
        ("hours.weekly.monday-friday", "'monday-friday': unknown day 'monday' (did you mean 'mon'?); days are mon, tue, wed, thu, fri, sat, sun"),
        ("hours.weekly.mon-fri[1]", "'9-5' is not a time range; write HH:MM-HH:MM, e.g. 09:00-17:00"),
        ("hours.weekly.thu", "'22:00-02:00' runs past midnight; overnight ranges are not supported: write '22:00-24:00' on this day and '00:00-02:00' on the next"),
        ("hours.weekly.fri-mon", "'fri-mon': a day range runs forward through the week; write 'fri-sun, mon'"),
        ("hours.weekly.thu", "12:00-13:00 overlaps 09:00-17:00 (from 'mon-fri') on thu"),
        ("hours.weekly.sat-sun", "'sat' says closed but 'sat-sun' opens 10:00-14:00 on sat"),
        ("hours.closed[1]", "'2026-13-01' is not a date (month must be in 1..12)"),
        ("hours.closed[2]", "'christmas' is not a date; write YYYY-MM-DD, e.g. 2026-12-25"),
        ("hours.closed[3]", "'2026-12-26 10:00' is not a date; write YYYY-MM-DD, e.g. 2026-12-25"),
        ("hours.after_hours.graph", "unknown graph 'nigth' (did you mean 'night'?); graphs here: front, night"),
    ]  # fmt: skip


def test_opening_times_of_the_wrong_type(tmp_path):
    graphs = folder(tmp_path, bad="hours: {timezone: UTC, weekly: {mon: 9}}\n")
    assert problems(graphs / "bad.yaml") == [
        ("hours.weekly.mon", 'should be "HH:MM-HH:MM" (quoted), a list of them, or "closed" (got 9)')
    ]  # fmt: skip


@pytest.mark.parametrize(
    "after_hours,message",
    [
        ("{graph: bad}", "names this graph itself; name the graph that answers instead"),
        ("{graph: night, greeting: hi}", "give either `graph` (another graph answers) or `greeting`"),
        ("{take_message: true}", "give either `graph` (another graph answers) or `greeting`"),
        ("{graph: night, take_message: true}", "take_message goes with `greeting`; with `graph` that graph decides"),
    ],
)  # fmt: skip
def test_after_hours_is_another_graph_or_a_greeting(tmp_path, after_hours, message):
    head = f"hours: {{timezone: UTC, weekly: {{mon: '09:00-10:00'}}, after_hours: {after_hours}}}\n"
    graphs = folder(tmp_path, bad=head)
    [(location, got)] = problems(graphs / "bad.yaml")
    assert location in ("hours.after_hours", "hours.after_hours.graph")
    assert got.startswith(message)


def test_an_unresolved_env_zone_is_reported_once(tmp_path):
    graphs = folder(
        tmp_path, bad="hours: {timezone: '${env:SHOP_TZ}', weekly: {mon: '09:00-10:00'}}\n"
    )
    assert problems(graphs / "bad.yaml") == [
        ("hours.timezone", "environment variable SHOP_TZ is not set; set it or give a default with ${env:SHOP_TZ|default}")
    ]  # fmt: skip
    assert problems(graphs / "bad.yaml", SHOP_TZ="Europe/Paris") == []


def test_a_number_claimed_by_two_graphs_is_an_error_naming_both_files(tmp_path, capsys):
    graphs = folder(tmp_path, sales='numbers: ["+15550000000", "+15551230002"]\n')
    cfg = config(GRAPHS_DIR=str(graphs))
    assert graph_cli.check([], cfg) == 1
    out = capsys.readouterr().out.splitlines()
    front, sales = str(graphs / "front.yaml"), str(graphs / "sales.yaml")
    assert f"{front}: error numbers[1]: +15551230002 is also claimed by {sales} (numbers[1]); a number is answered by one graph" in out  # fmt: skip
    assert f"{sales}: error numbers[1]: +15551230002 is also claimed by {front} (numbers[1]); a number is answered by one graph" in out  # fmt: skip
    assert f"{graphs / 'night.yaml'}: ok" in out
    with pytest.raises(GraphError) as info:
        load_graphs(graphs, cfg)
    assert {p.file for p in info.value.problems} == {front, sales}
    # The server loads graphs this way and refuses to start on it.
    with pytest.raises(GraphError, match="also claimed by"):
        load_servable_graphs(graphs, config(**KEYS), "front")


def test_checking_one_file_alone_sees_no_other_graph(tmp_path, capsys):
    graphs = folder(tmp_path, sales='numbers: ["+15551230002"]\n')
    assert graph_cli.check([str(graphs / "sales.yaml")], config()) == 0


def test_the_after_hours_graph_must_be_served(tmp_path):
    with pytest.raises(GraphError) as info:
        load_servable_graphs(LINES, config(**KEYS), "front", only=["front"])
    [problem] = info.value.problems
    assert problem.location == "hours.after_hours.graph"
    assert problem.message.startswith("graph 'night' is not served here")
    graphs, _ = load_servable_graphs(LINES, config(**KEYS), "front")
    assert sorted(graphs) == ["front", "night"]


def test_read_numbers_skips_empty_entries_and_keeps_indexes():
    numbers, problems = read_numbers(["", "+15551230001", " ", "+442071234567"])
    assert numbers == {"+15551230001": 1, "+442071234567": 3} and problems == []


def test_the_documented_hours_example_is_valid_and_its_greeting_is_cached(tmp_path):
    import yaml

    from agent.phrases.routes import load_routes
    from tests.conftest import ROOT, graph_variants

    readme = (ROOT / "graphs" / "README.md").read_text()
    section = readme.split("### `hours`: business hours", 1)[1]
    example = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    graphs = Path(graph_variants(tmp_path, receptionist=example))
    assert problems(graphs / "receptionist.yaml") == []
    greeting = example["hours"]["after_hours"]["greeting"]
    assert (
        load_routes(ROOT / "audio_cache" / "routes.yaml").all_phrases()["after_hours"] == greeting
    )
    # The README's short example says the same.
    assert greeting in (ROOT / "README.md").read_text()

"""`python -m agent graph test`: the shipped scenarios pass, and a broken graph fails the
right scenario with the right report and JUnit XML.

One `graph test` run (real-time calls, all at once) covers both: GRAPHS_DIR holds the
shipped graphs and their tests, plus `nozero`, the receptionist without its `0` keypad
mapping, whose "keypad 0 transfers" scenario must fail naming the expectation and showing
the transcript, and `notime`, the reminder whose greeting leaves out the appointment's time,
whose person scenario must fail its `says_variable`. Its wall time is what this adds to CI
(printed with -s).
"""

from __future__ import annotations

import argparse
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from agent.cli import graph_test
from agent.config import Config

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(240)


def args(**kw) -> argparse.Namespace:
    base = dict(
        names=[], repeat=1, scenario=[], junit=None, concurrency=4, live=False, schema=False
    )
    return argparse.Namespace(**{**base, **kw})


def config_for(graphs_dir: Path) -> Config:
    return Config.load(env={"GRAPHS_DIR": str(graphs_dir)}, dotenv_path=None)


def _table_rows(out: str) -> list[str]:
    """The report table's rows: from its header to the first blank line. Log lines an
    earlier test's logging set-up sends to stdout may come before it."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("scenario "))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(line)
    return rows


def graphs_with_breakage(tmp_path: Path) -> Path:
    target = tmp_path / "graphs"
    shutil.copytree(ROOT / "graphs", target)
    (tmp_path / "audio_cache").symlink_to(ROOT / "audio_cache")
    graph = yaml.safe_load((target / "receptionist.yaml").read_text())
    graph["name"] = "nozero"
    graph["call"]["dtmf"] = {}  # the 0 key no longer puts the caller through
    (target / "nozero.yaml").write_text(yaml.safe_dump(graph, sort_keys=False))
    tests = yaml.safe_load((target / "receptionist.tests.yaml").read_text())
    tests["scenarios"] = [s for s in tests["scenarios"] if s["name"] == "keypad 0 transfers"]
    (target / "nozero.tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    graph = yaml.safe_load((target / "reminder.yaml").read_text())
    graph["name"] = "notime"
    graph["call"]["greeting"] = "Hi ${call.vars.name}, this is Acme calling about your appointment."
    (target / "notime.yaml").write_text(yaml.safe_dump(graph, sort_keys=False))
    tests = yaml.safe_load((target / "reminder.tests.yaml").read_text())
    tests["scenarios"] = [s for s in tests["scenarios"] if s["name"].startswith("a person")]
    (target / "notime.tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    # A route whose examples were broken: the caller's price question no longer matches.
    routes = yaml.safe_load((ROOT / "audio_cache" / "routes.yaml").read_text())
    routes["routes"]["pricing"]["examples"] = ["is it going to rain on mars tomorrow"]
    (tmp_path / "noprice_routes.yaml").write_text(yaml.safe_dump(routes, sort_keys=False))
    graph = yaml.safe_load((target / "receptionist.yaml").read_text())
    graph["name"] = "noprice"
    graph["nodes"]["router"]["routes"] = "../noprice_routes.yaml"
    graph["nodes"]["router"].pop("training")  # its paraphrases would still find the price
    (target / "noprice.yaml").write_text(yaml.safe_dump(graph, sort_keys=False))
    tests = yaml.safe_load((target / "receptionist.tests.yaml").read_text())
    tests["scenarios"] = [s for s in tests["scenarios"] if s["name"] == "cached answers"]
    (target / "noprice.tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    return target


def test_shipped_scenarios_pass_and_broken_graphs_fail_the_right_scenarios(tmp_path, capsys):
    graphs = graphs_with_breakage(tmp_path)
    junit = tmp_path / "junit.xml"
    started = time.monotonic()
    code = graph_test.run(args(junit=str(junit), concurrency=16), config_for(graphs))
    took = time.monotonic() - started
    out, err = capsys.readouterr()
    with capsys.disabled():
        print(f"\ngraph test of the shipped scenarios (+3 broken): {took:.1f} s wall")
    assert code == 1, out  # nozero, notime and noprice fail, nothing else
    table_rows = _table_rows(out)
    rows = {line.split("  ")[0].strip(): line for line in table_rows}
    shipped = [n for n in rows if not n.startswith(("nozero", "notime", "noprice"))]
    assert len(shipped) == 15, out
    assert all(rows[n].endswith("1/1  ok") for n in shipped), out
    assert (
        rows["nozero · keypad 0 transfers"]
        .split("  ", 1)[1]
        .strip()
        .startswith("0/1  step 1: transfer: front_desk: no transfer to front_desk")
    ), out
    # The transcript under the table: the step, and what the agent said instead.
    details = out.split("nozero · keypad 0 transfers: step 1:", 1)[1]
    assert "── step 1: press '0'" in details and "caller  pressed 0" in details
    # The outbound call whose greeting lost the time: the variable named, the words shown.
    assert (
        rows["notime · a person hears their name and time"]
        .split("  ", 1)[1]
        .strip()
        .startswith("0/1  the answer: says_variable: [name, time]: time ('3 pm') not in")
    ), out
    assert "calling about your appointment." in out.split("notime · a person", 2)[2]
    # The route whose examples were broken: the price question reached the LLM instead.
    assert (
        rows["noprice · cached answers"]
        .split("  ", 1)[1]
        .strip()
        .startswith("0/1  step 1: route: pricing: expected the cached answer of route pricing")
    ), out
    assert "caller  how much does it cost" in out.split("noprice · cached answers:", 1)[1]
    assert "15 of 18 scenarios passed" in out
    assert "[18/18]" in err  # progress

    suites = {s.get("name"): s for s in ET.parse(junit).getroot()}
    assert all(suites[g].get("failures") == "0" for g in ("receptionist", "local", "reminder"))
    [case] = suites["nozero"]
    [failure] = case.findall("failure")
    assert failure.get("message").startswith("0/1 runs passed; step 1: transfer: front_desk")
    assert "pressed 0" in failure.text


def test_live_without_a_graphs_keys_names_the_key_and_runs_nothing(capsys):
    assert graph_test.run(args(live=True), config_for(ROOT / "graphs")) == 2
    err = capsys.readouterr().err
    assert "--live: graph 'receptionist' cannot run with its real providers" in err
    assert "DEEPGRAM_API_KEY is not set" in err
    assert "graph 'local'" not in err  # the local graph's providers run here, keyless


def test_an_unknown_graph_or_scenario_is_named_with_a_suggestion(capsys):
    config = config_for(ROOT / "graphs")
    assert graph_test.run(args(names=["receptionst"]), config) == 2
    assert "did you mean 'receptionist'?" in capsys.readouterr().err
    assert graph_test.run(args(scenario=["idle promt"]), config) == 2
    assert "unknown scenario 'idle promt' (did you mean 'idle prompt'?)" in capsys.readouterr().err


def test_the_tests_schema_is_up_to_date():
    from agent.scenarios.model import tests_schema_json

    assert (ROOT / "graphs" / "tests.schema.json").read_text() == tests_schema_json()

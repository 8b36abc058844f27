"""The graph file's `messages:` section: validated with the rest, and what it needs."""

from __future__ import annotations

import textwrap
from pathlib import Path

from agent.config import Config
from agent.graph import validate_file

ROOT = Path(__file__).resolve().parents[2]


def problems(path: Path, **env: str) -> list[tuple[str, str, str]]:
    report = validate_file(path, Config.load(env=env, dotenv_path=None))
    return [(p.severity, p.location, p.message) for p in report.problems]


def write(tmp_path: Path, text: str, routes: str | None = None) -> Path:
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "p.md").write_text("You are terse.")
    if routes is not None:
        (tmp_path / "routes.yaml").write_text(textwrap.dedent(routes))
    path = tmp_path / "g.yaml"
    path.write_text(textwrap.dedent(text))
    return path


GRAPH = """\
    name: g
    chain: [vad, stt, llm, tts]
    nodes:
      vad: {type: silero_vad}
      stt: {type: deepgram_stt}
      llm: {type: groq_llm, prompt: prompts/p.md}
      tts: {type: cartesia_tts}
    """


def test_sms_to_from_the_environment_empty_means_no_sms(tmp_path):
    path = write(tmp_path, GRAPH + 'messages: {sms_to: "${env:OWNER_NUMBER|}"}\n')
    report = validate_file(path, Config.load(env={}, dotenv_path=None))
    assert not report.problems and report.graph.messages.sms_to is None
    report = validate_file(
        path, Config.load(env={"OWNER_NUMBER": "+15551234567"}, dotenv_path=None)
    )
    assert report.graph.messages.sms_to == "+15551234567"


def test_no_section_or_disabled_means_no_messages(tmp_path):
    assert (
        validate_file(write(tmp_path, GRAPH), Config.load(env={}, dotenv_path=None)).graph.messages
        is None
    )
    path = write(tmp_path, GRAPH + "messages: {enabled: false}\n")
    assert validate_file(path, Config.load(env={}, dotenv_path=None)).graph.messages is None


def test_bad_settings_are_located(tmp_path):
    def found(section: str) -> list[tuple[str, str]]:
        return [(loc, msg) for _, loc, msg in problems(write(tmp_path, GRAPH + section))]

    assert found("messages: {ask_nam: x}\n") == [
        ("messages", "unknown field 'ask_nam' (did you mean 'ask_name'?)")
    ]
    [(loc, msg)] = found('messages: {read_back: "Is that right?"}\n')
    assert loc == "messages" and "read_back must contain {number}" in msg
    [(loc, msg)] = found('messages: {sms_to: "555-1234"}\n')
    assert loc == "messages" and "E.164" in msg


def test_messages_need_an_answering_node(tmp_path):
    text = """\
        name: g
        chain: [vad, stt, tts]
        nodes:
          vad: {type: silero_vad}
          stt: {type: deepgram_stt}
          tts: {type: cartesia_tts}
        messages: {}
        """
    found = problems(write(tmp_path, text))
    assert any(loc == "messages" and "groq_llm or local_responder" in msg for _, loc, msg in found)


ROUTES = """\
    routes:
      message:
        say: "What's your name?"
        action: take_message
        examples: [can I leave a message]
    """


def test_message_routes_need_a_graph_that_takes_messages(tmp_path):
    text = """\
        name: g
        chain: [vad, stt, router, llm, tts]
        nodes:
          vad: {type: silero_vad}
          stt: {type: deepgram_stt}
          router: {type: intent_router, routes: routes.yaml}
          llm: {type: groq_llm, prompt: prompts/p.md}
          tts: {type: cartesia_tts}
        """
    path = write(tmp_path, text, ROUTES)
    assert (
        "error",
        "nodes.router.routes",
        "route 'message' has action take_message, but this graph takes no messages: add a "
        "messages: section (graphs/README.md, Messages)",
    ) in problems(path)
    path.write_text(path.read_text() + "messages: {}\n")
    assert problems(path) == []


def test_shipped_graphs_take_messages():
    for name in ("receptionist", "local"):
        report = validate_file(
            ROOT / "graphs" / f"{name}.yaml", Config.load(env={}, dotenv_path=None)
        )
        assert not report.errors, report.errors
        assert report.graph.messages is not None and report.graph.messages.sms_to is None


def test_after_hours_message_taking_needs_a_messages_section(tmp_path):
    hours = (
        'hours: {timezone: UTC, weekly: {mon-fri: "09:00-17:00"}, '
        'after_hours: {greeting: "Closed. Your name?", take_message: true}}\n'
    )
    path = write(tmp_path, GRAPH + hours)
    assert (
        "error",
        "hours.after_hours.take_message",
        "taking messages after hours needs a messages: section (graphs/README.md)",
    ) in problems(path)
    path.write_text(path.read_text() + "messages: {}\n")
    assert problems(path) == []

"""The graph file's `transfer:` section: destinations, what names them (keypad, routes file,
the LLM's tool), did-you-mean errors, inactive destinations, `graph show`."""

from __future__ import annotations

import textwrap
from pathlib import Path

from agent.config import Config
from agent.graph import draw_text, validate_file
from agent.graph.model import DtmfAction

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, body: str, routes: str | None = None) -> Path:
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "p.md").write_text("You are terse.")
    if routes is not None:
        (tmp_path / "routes.yaml").write_text(textwrap.dedent(routes))
    path = tmp_path / "g.yaml"
    path.write_text("name: g\n" + textwrap.dedent(body))
    return path


NODES = """\
    nodes:
      vad: {type: silero_vad}
      stt: {type: deepgram_stt}
      router: {type: intent_router, routes: routes.yaml}
      llm: {type: groq_llm, prompt: prompts/p.md, transfer_to: [front_dsk]}
      tts: {type: cartesia_tts}
    chain: [vad, stt, router, llm, tts]
    """
ROUTES = """\
    routes:
      human:
        say: "Connecting you now."
        action: transfer
        destination: frontdesk
        examples: [can I talk to a person]
    """


def problems(path: Path, **env: str) -> list[tuple[str, str]]:
    report = validate_file(path, Config.load(env=env, dotenv_path=None))
    return [(p.location, p.message) for p in report.errors]


def test_every_name_of_a_destination_is_checked_with_did_you_mean(tmp_path):
    path = write(
        tmp_path,
        textwrap.dedent(
            """\
        call:
          dtmf: {"0": {transfer: front_des}, "1": transfer, "9": hang_up}
        transfer:
          front_desk: {to: "+15550003333"}
          sales: {to: "${env:SALES_NUMBER|}", ring_timeout_s: 30}
        """
        )
        + textwrap.dedent(NODES),
        ROUTES,
    )
    assert problems(path) == [
        (
            "call.dtmf.0.destination",
            "digit '0' transfers to unknown destination 'front_des' (did you mean "
            "'front_desk'?); destinations: front_desk, sales",
        ),
        (
            "nodes.router.routes",
            "route 'human' of routes.yaml transfers to unknown destination 'frontdesk' (did "
            "you mean 'front_desk'?); destinations: front_desk, sales",
        ),
        (
            "nodes.llm.transfer_to[0]",
            "the transfer_call tool of 'llm' transfers to unknown destination 'front_dsk' "
            "(did you mean 'front_desk'?); destinations: front_desk, sales",
        ),
    ]


def test_a_keypad_transfer_needs_destinations_but_transfer_routes_are_just_off(tmp_path):
    nodes = textwrap.dedent(NODES).replace(", transfer_to: [front_dsk]", "")
    path = write(tmp_path, 'call:\n  dtmf: {"0": transfer}\n' + nodes, ROUTES)
    assert problems(path) == [
        ("call.dtmf.0", "keypad transfer, but the graph has no `transfer:` destinations")
    ]
    path = write(tmp_path, nodes, ROUTES)  # a shared routes file: its transfer route is off
    assert problems(path) == []


def test_destinations_resolve_active_or_off_and_show_says_so(tmp_path):
    nodes = textwrap.dedent(NODES).replace("[front_dsk]", "[front_desk]")
    routes = ROUTES.replace("destination: frontdesk", "destination: front_desk")
    body = """\
        transfer:
          front_desk: {to: "${env:TRANSFER_NUMBER|}", caller_id: "+15550009999"}
          sales: {to: "+15550004444", ring_timeout_s: 30}
        """
    path = write(tmp_path, textwrap.dedent(body) + nodes, routes)
    cfg = Config.load(env={}, dotenv_path=None)
    graph = validate_file(path, cfg).graph
    assert graph.active_destinations() == ["sales"]
    assert graph.transfer_destination(None) is None  # the first one is off
    assert graph.transfer_destination("front_desk") is None
    name, sales = graph.transfer_destination("sales")
    assert (name, sales.to, sales.ring_timeout_s, sales.caller_id) == (
        "sales",
        "+15550004444",
        30,
        None,
    )
    assert draw_text(graph).endswith("transfer: front_desk (off: no number), sales (rings 30 s)\n")
    cfg = Config.load(env={"TRANSFER_NUMBER": "+15550003333"}, dotenv_path=None)
    graph = validate_file(path, cfg).graph
    name, desk = graph.transfer_destination(None)
    assert (name, desk.to, desk.caller_id) == ("front_desk", "+15550003333", "+15550009999")


def test_dtmf_shorthands():
    assert DtmfAction.model_validate("transfer").action == "transfer"
    assert DtmfAction.model_validate({"transfer": "sales"}).destination == "sales"
    assert DtmfAction.model_validate("hang_up").action == "hang_up"


def test_the_receptionist_graph_transfers_only_with_transfer_number():
    from agent.graph import load_graph

    off = load_graph(ROOT / "graphs" / "receptionist.yaml", Config.load(env={}, dotenv_path=None))
    assert off.active_destinations() == []
    assert off.call.dtmf["0"].destination == "front_desk"
    env = {"TRANSFER_NUMBER": "+15550003333"}
    on = load_graph(ROOT / "graphs" / "receptionist.yaml", Config.load(env=env, dotenv_path=None))
    assert on.transfer_destination("front_desk")[1].to == "+15550003333"


def test_warm_destinations_validate_show_and_follow_transfer_warm(tmp_path):
    nodes = textwrap.dedent(NODES).replace("[front_dsk]", "[front_desk]")
    routes = ROUTES.replace("destination: frontdesk", "destination: front_desk")
    body = """\
        transfer:
          front_desk: {to: "+15550003333", warm: "${env:TRANSFER_WARM|false}", accept_timeout_s: 15}
          sales: {to: "+15550004444", warm: true}
        """
    path = write(tmp_path, textwrap.dedent(body) + nodes, routes)
    graph = validate_file(path, Config.load(env={}, dotenv_path=None)).graph
    desk, sales = graph.transfer["front_desk"], graph.transfer["sales"]
    assert (desk.warm, desk.accept_timeout_s) == (False, 15)
    assert (sales.warm, sales.accept_timeout_s) == (True, 20)
    assert draw_text(graph).endswith(
        "transfer: front_desk (rings 20 s), sales (rings 20 s, warm: accept within 20 s)\n"
    )
    env = {"TRANSFER_WARM": "true"}
    assert (
        validate_file(path, Config.load(env=env, dotenv_path=None))
        .graph.transfer["front_desk"]
        .warm
    )

    bad = """\
        transfer:
          front_desk: {to: "+15550003333", warm: maybe, accept_timeout_s: 2}
        """
    path = write(tmp_path, textwrap.dedent(bad) + nodes, routes)
    found = problems(path)
    assert any("transfer.front_desk.warm" in loc and "bool" in message for loc, message in found), (
        found
    )
    assert any(
        "transfer.front_desk.accept_timeout_s" in loc and "5" in message for loc, message in found
    ), found


def test_the_receptionist_graph_is_warm_only_with_transfer_warm():
    from agent.graph import load_graph

    path = ROOT / "graphs" / "receptionist.yaml"
    env = {"TRANSFER_NUMBER": "+15550003333"}
    cold = load_graph(path, Config.load(env=env, dotenv_path=None))
    assert not cold.transfer["front_desk"].warm
    warm = load_graph(path, Config.load(env=env | {"TRANSFER_WARM": "true"}, dotenv_path=None))
    desk = warm.transfer["front_desk"]
    assert (desk.warm, desk.accept_timeout_s, desk.ring_timeout_s) == (True, 20, 20)

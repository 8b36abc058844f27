"""groq_llm: its turn strategies, context window and prompt, and the start-up model check."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from agent.config import Config
from agent.errors import ProviderError
from agent.graph import BuildContext, CallInfo, build_graph, load_graph, provider_checks
from agent.graph.build import ProcessCache
from agent.nodes.groq import check_groq_model, check_groq_models

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"DEEPGRAM_API_KEY": "dg", "GROQ_API_KEY": "gq-secret-key", "CARTESIA_API_KEY": "ca"}


def build(**env):
    cfg = Config.load(env={**KEYS, **env}, dotenv_path=None)
    graph = load_graph(ROOT / "graphs/receptionist.yaml", cfg, strict=True)
    built = build_graph(graph, BuildContext(cfg, graph, CallInfo("CA1", "MZ1"), ProcessCache()))
    return graph, built.nodes["llm"]


def test_vad_turns_use_speech_timeout_not_smart_turn():
    from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy

    from agent.adapters.listening_turns import ListeningTurnStop
    from agent.nodes.params import SPECULATE_DEFAULT
    from processors.barge_in import AcknowledgingTurnStart
    from processors.turn_end import TurnEndTiming

    _, llm = build()
    user, window, messages, service = llm.processors  # the graph takes messages
    strategies = user._params.user_turn_strategies
    # pipecat's VAD/transcription starts while the agent is silent; acknowledgements over it
    assert [type(s) for s in strategies.start] == [AcknowledgingTurnStart]
    [stop] = strategies.stop
    # Deepgram finalizes: pipecat's speech timeout, its wait chosen by the words (0.4 s when
    # they say nothing either way), answers started speculatively (agent/adapters/listening_turns.py)
    assert type(stop) is ListeningTurnStop and isinstance(stop, SpeechTimeoutUserTurnStopStrategy)
    assert stop._timing == TurnEndTiming(complete_s=0.1, open_s=0.4, unfinished_s=1.2)
    assert stop._speculate_on is SPECULATE_DEFAULT
    assert window._max_turns == 20  # MAX_HISTORY_TURNS default


def test_flux_turns_are_left_to_flux():
    from pipecat.turns.user_start import ExternalUserTurnStartStrategy
    from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies

    from agent.adapters.eager_turns import CountedEagerTurnStop
    from agent.adapters.flux_turns import ListeningFluxTurnStop

    graph, llm = build(USE_DEEPGRAM_FLUX="true", MAX_HISTORY_TURNS="5")
    assert graph.chain[1] == "stt_flux"
    # SPECULATIVE_ANSWERS (default true): Flux's EagerEndOfTurn answered speculatively;
    # TURN_END_BY_WORDS (default true): an end on unfinished words held for the rest
    strategies = llm.processors[0]._params.user_turn_strategies
    [start] = strategies.start
    assert isinstance(start, ExternalUserTurnStartStrategy) and start._enable_interruptions
    [stop] = strategies.stop
    assert type(stop) is ListeningFluxTurnStop and isinstance(stop, CountedEagerTurnStop)
    assert stop._unfinished_s == 1.2  # the groq_llm node's unfinished_turn_wait_s
    assert llm.processors[1]._max_turns == 5

    _, llm = build(USE_DEEPGRAM_FLUX="true", SPECULATIVE_ANSWERS="false")
    [stop] = llm.processors[0]._params.user_turn_strategies.stop
    assert type(stop) is ListeningFluxTurnStop  # the hold, no EagerEndOfTurn asked of Flux

    # TURN_END_BY_WORDS=false: Flux's ends as they come, as before
    _, llm = build(USE_DEEPGRAM_FLUX="true", TURN_END_BY_WORDS="false")
    strategies = llm.processors[0]._params.user_turn_strategies
    assert [type(s) for s in strategies.stop] == [CountedEagerTurnStop]
    _, llm = build(USE_DEEPGRAM_FLUX="true", TURN_END_BY_WORDS="false", SPECULATIVE_ANSWERS="false")
    strategies = llm.processors[0]._params.user_turn_strategies
    assert isinstance(strategies, ExternalUserTurnStrategies) and strategies.enable_interruptions


def test_context_starts_with_the_prompt_and_service_settings():
    _, llm = build(GROQ_MODEL="llama-3.1-8b-instant")
    prompt = (ROOT / "graphs/prompts/receptionist.md").read_text().strip()
    assert llm.context.get_messages() == []  # pipecat 1.9+: the prompt lives on the service
    settings = llm.processors[-1]._settings
    assert settings.system_instruction == prompt
    # the graph file says ${env:GROQ_MODEL|...}, so the env wins
    assert settings.model == "llama-3.1-8b-instant"
    assert settings.temperature == 0.6 and settings.max_completion_tokens == 200
    assert len(llm.after_output) == 1


@pytest.fixture
async def groq(aiohttp_server):
    seen = {}

    async def models(request: web.Request) -> web.Response:
        seen["auth"] = request.headers.get("Authorization")
        if request.headers.get("Authorization") != "Bearer gq-secret-key":
            return web.json_response({"error": {"message": "Invalid API Key"}}, status=401)
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": "llama-3.3-70b-versatile"}, {"id": "openai/gpt-oss-120b"}],
            }
        )

    app = web.Application()
    app.router.add_get("/openai/v1/models", models)
    server = await aiohttp_server(app)
    return str(server.make_url("/openai/v1")), seen


def groq_config(base_url: str, key: str = "gq-secret-key") -> Config:
    return Config.load(env={"GROQ_API_KEY": key, "GROQ_BASE_URL": base_url}, dotenv_path=None)


async def test_model_present(groq):
    url, seen = groq
    await check_groq_model(groq_config(url), "llama-3.3-70b-versatile")
    assert seen["auth"] == "Bearer gq-secret-key"


async def test_model_missing_lists_what_exists(groq):
    url, _ = groq
    with pytest.raises(ProviderError) as info:
        await check_groq_models(groq_config(url), ["llama-3.3-70b-versatil"])
    assert str(info.value) == (
        "groq: model 'llama-3.3-70b-versatil' is not available (did you mean "
        "'llama-3.3-70b-versatile'?); available: llama-3.3-70b-versatile, openai/gpt-oss-120b "
        "(set GROQ_MODEL or the node's model)"
    )


async def test_bad_key_is_named_not_shown(groq):
    url, _ = groq
    with pytest.raises(ProviderError) as info:
        await check_groq_model(groq_config(url, key="wrong-key-123"), "llama-3.3-70b-versatile")
    assert "GROQ_API_KEY was refused" in str(info.value) and "HTTP 401" in str(info.value)
    assert "wrong-key-123" not in str(info.value)


async def test_unreachable():
    with pytest.raises(ProviderError, match="cannot reach http://127.0.0.1:9/v1/models"):
        await check_groq_model(groq_config("http://127.0.0.1:9/v1"), "m")


async def test_provider_checks_run_once_per_type(groq):
    url, _ = groq
    cfg = Config.load(env={**KEYS, "GROQ_BASE_URL": url}, dotenv_path=None)
    graph = load_graph(ROOT / "graphs/receptionist.yaml", cfg)
    checks = provider_checks({"a": graph, "b": graph}, cfg)
    assert len(checks) == 2  # groq_llm and lead_extraction: one each, not one per graph
    await checks[0]()  # groq_llm's (this fake has no extraction model)
    bad = Config.load(env={**KEYS, "GROQ_BASE_URL": url, "GROQ_MODEL": "nope"}, dotenv_path=None)
    graph = load_graph(ROOT / "graphs/receptionist.yaml", bad)
    with pytest.raises(ProviderError, match="model 'nope' is not available"):
        await provider_checks({"a": graph}, bad)[0]()


def test_take_message_tool_and_dialog_only_with_messages():
    from processors.message_taking import MessageTaker

    _, llm = build()
    assert isinstance(llm.processors[2], MessageTaker)
    tools = [t.name for t in llm.context.tools.standard_tools]
    assert tools == ["take_message", "do_not_call", "end_call"]
    assert llm.processors[-1].has_function("take_message")


async def _do_not_call_with(listed: bool) -> tuple[list, list]:
    from agent.nodes.groq import do_not_call

    pushed, results = [], []

    class Llm:
        async def push_frame(self, frame, direction):
            pushed.append((frame, direction))
            frame.done.set_result(listed)  # the controller's answer

    async def result_callback(result, **_):
        results.append(result)

    params = type("Params", (), {"llm": Llm(), "arguments": {}, "result_callback": result_callback})
    await do_not_call(params)
    return pushed, results


async def test_do_not_call_tool_asks_the_controller_and_tells_the_model_what_happened():
    from processors.frames import DoNotCallFrame

    for listed, key in ((True, "status"), (False, "error")):
        pushed, results = await _do_not_call_with(listed)
        [(frame, direction)] = pushed
        assert isinstance(frame, DoNotCallFrame) and frame.source == "tool:do_not_call"
        assert direction.name == "UPSTREAM"
        [result] = results
        assert key in result

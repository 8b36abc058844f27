"""Builder of `groq_llm`, and the start-up check that its model exists.

The node expands to pipecat's universal context aggregators around the Groq service:

    [user aggregator, ContextWindow, GroqLLMService]  in the chain
    [assistant aggregator]                            after transport output

The assistant aggregator sits after the output so it records what was actually played,
and sees interruptions in order. The prompt file is the service's system instruction (the
context holds only the conversation).

When the caller's turn ends (user turn strategies), chosen rather than pipecat's default:

- a service upstream decides turns ("turn" frames, i.e. Deepgram Flux): pipecat's
  ExternalUserTurnStrategies, which resolve the service's proposed turn starts/ends and
  interrupt the bot when a turn starts. That is exactly what Flux recommends through its
  STTMetadataFrame; we pass it up front because leaving the strategies unset would first
  build pipecat's default smart-turn analyzer (an ONNX model load) for every call.
- otherwise: start on VAD or transcription (pipecat's default starts) and stop with
  SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=user_speech_timeout_s), not the
  default smart-turn model, which costs CPU per turn and on synthetic or telephone speech
  often waits seconds before ending a turn. With Deepgram finalizing on VAD stop, a turn
  ends stop_secs (0.2) + user_speech_timeout_s (0.4) after the caller falls silent.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from agent.config import Config
from agent.errors import ProviderError
from agent.graph.build import BuildContext, NodeBuild
from agent.graph.suggest import did_you_mean
from agent.nodes.params import GroqLLMParams


def build_llm(params: GroqLLMParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import (
        LLMContextAggregatorPair,
        LLMUserAggregatorParams,
    )
    from pipecat.services.groq.llm import GroqLLMService
    from pipecat.utils.types import NOT_GIVEN

    from processors.context_window import ContextWindow

    config = ctx.config
    api_key = config.require("GROQ_API_KEY", f"the groq_llm node '{node_name}'")
    # The prompt goes on the service (system_instruction), not into the context: pipecat
    # 1.9+ deprecates a leading system message in LLMContext, since the service composes
    # its instruction with what the framework adds (turn completion, async tools).
    context = LLMContext(tools=_tools() if params.hang_up_tool else NOT_GIVEN)
    min_words = ctx.graph.call.min_interruption_words or config.min_interruption_words
    pair = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            user_turn_strategies=_turn_strategies(
                params, "turn" in ctx.graph.kinds_before(node_name), min_words
            )
        ),
    )
    service = _shared_client_service_class()(
        shared=ctx.shared,
        api_key=api_key.reveal(),
        base_url=config.groq_base_url,
        # Without this a hung request waits for the openai client's 600 s timeout: re-ask
        # once when nothing streams back within 4 s.
        retry_on_timeout=True,
        retry_timeout_secs=4.0,
        settings=GroqLLMService.Settings(
            model=params.model or config.groq_model,
            system_instruction=_prompt(ctx, params.prompt),
            temperature=params.temperature,
            # Groq's name for the reply length limit (max_tokens is deprecated there).
            max_completion_tokens=params.max_tokens,
        ),
    )
    if params.hang_up_tool:
        service.register_function(END_CALL, _end_call, cancel_on_interruption=False)
    window = ContextWindow(max_turns=params.max_history_turns or config.max_history_turns)
    return NodeBuild(
        processors=[pair.user(), window, service],
        after_output=[pair.assistant()],
        context=context,
    )


END_CALL = "end_call"


@functools.cache
def _shared_client_service_class():
    """GroqLLMService that reuses one AsyncOpenAI client per process (key, base URL).

    pipecat creates an AsyncOpenAI client (an httpx pool and a TLS context: ~20 ms of blocking
    CPU) for every service, i.e. every call, and never closes it. One shared client keeps
    connections to Groq warm across calls and stops the per-call leak.
    """
    from pipecat.services.groq.llm import GroqLLMService

    class SharedClientGroqLLMService(GroqLLMService):
        def __init__(self, *, shared: dict, **kwargs):
            self._shared = shared
            super().__init__(**kwargs)

        def create_client(self, api_key=None, base_url=None, **kwargs):
            key = ("groq_llm", "client", api_key, base_url)
            if key not in self._shared:
                self._shared[key] = super().create_client(
                    api_key=api_key, base_url=base_url, **kwargs
                )
            return self._shared[key]

    return SharedClientGroqLLMService


def _tools():
    """The end_call tool: the model may hang up, saying its own goodbye."""
    from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
    from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema

    return ToolsSchema(
        standard_tools=[
            FunctionSchema(
                name=END_CALL,
                description="End the phone call. Use when the caller says goodbye or asks to "
                "end the call, or the conversation is clearly finished.",
                properties={
                    "goodbye": {
                        "type": "string",
                        "description": "One short sentence said to the caller before hanging up.",
                    }
                },
                required=["goodbye"],
            )
        ]
    )


async def _end_call(params) -> None:
    from pipecat.processors.frame_processor import FrameDirection

    from processors.frames import EndCallFrame

    goodbye = str((params.arguments or {}).get("goodbye") or "") or None
    await params.result_callback({"status": "ending call"})
    # Upstream to the call controller at the head of the chain, which says the goodbye and
    # queues the end of the call behind it.
    await params.llm.push_frame(
        EndCallFrame(reason="agent", goodbye=goodbye), FrameDirection.UPSTREAM
    )


def _turn_strategies(params: GroqLLMParams, service_decides_turns: bool, min_words: int = 1):
    from pipecat.turns.user_start import MinWordsUserTurnStartStrategy
    from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
    from pipecat.turns.user_turn_strategies import (
        ExternalUserTurnStrategies,
        UserTurnStrategies,
        default_user_turn_start_strategies,
    )

    if service_decides_turns:
        return ExternalUserTurnStrategies(enable_interruptions=True)
    # Barge-in: with min_words 1 any speech the VAD hears interrupts the agent; above that,
    # the caller must say that many words (interim transcripts) over the agent first.
    start = (
        default_user_turn_start_strategies()
        if min_words <= 1
        else [MinWordsUserTurnStartStrategy(min_words=min_words)]
    )
    return UserTurnStrategies(
        start=start,
        stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=params.user_speech_timeout_s)],
    )


def _prompt(ctx: BuildContext, relative: str) -> str:
    # Read once per process: validated at start, and the same text for every call.
    path = ctx.resolve_path(relative).resolve()
    key = ("groq_llm", "prompt", str(path))
    if key not in ctx.shared:
        ctx.shared[key] = path.read_text(encoding="utf-8").strip()
    return ctx.shared[key]


# --- start-up check -----------------------------------------------------------------------


async def check_groq_model(config: Config, model: str) -> None:
    """Fail early, with the models on offer, if GROQ_BASE_URL does not serve `model`."""
    await check_groq_models(config, [model])


async def check_groq_models(config: Config, models: Iterable[str]) -> None:
    """One GET {GROQ_BASE_URL}/models for any number of models; raises ProviderError."""
    import aiohttp

    wanted = sorted(set(models))
    if not wanted:
        return
    api_key = config.require("GROQ_API_KEY", "the groq_llm model check")
    url = f"{config.groq_base_url}/models"
    headers = {"Authorization": f"Bearer {api_key.reveal()}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.get(url, headers=headers) as response,
        ):
            if response.status in (401, 403):
                raise ProviderError(
                    "groq",
                    f"GROQ_API_KEY was refused by {url} (HTTP {response.status}); check the key",
                )
            if response.status != 200:
                raise ProviderError("groq", f"GET {url} answered HTTP {response.status}")
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ProviderError("groq", f"cannot reach {url}: {exc or type(exc).__name__}") from None
    except ValueError:
        raise ProviderError("groq", f"GET {url} did not answer with JSON") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise ProviderError("groq", f"GET {url} answered without a model list")
    available = sorted(str(m["id"]) for m in data if isinstance(m, dict) and "id" in m)
    for model in wanted:
        if model not in available:
            close = did_you_mean(model, available)
            suggestion = f" (did you mean '{close}'?)" if close else ""
            raise ProviderError(
                "groq",
                f"model '{model}' is not available{suggestion}; available: "
                f"{', '.join(available) or 'none'} (set GROQ_MODEL or the node's model)",
            )


async def preflight(config: Config, params_list: list[GroqLLMParams]) -> None:
    """Server start: every Groq model the graphs use exists (one request for all)."""
    await check_groq_models(config, [p.model or config.groq_model for p in params_list])

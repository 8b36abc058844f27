"""Builder of `groq_llm`, and the start-up check that its model exists.

The node is pipecat's Groq service inside the shared conversation (agent/nodes/conversation.py:
context aggregators, turn-taking, history window). The prompt file is the service's system
instruction (the context holds only the conversation).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from agent.config import Config
from agent.errors import ProviderError
from agent.graph.build import BuildContext, NodeBuild, ProcessCache
from agent.graph.suggest import did_you_mean
from agent.nodes.conversation import conversation, read_prompt
from agent.nodes.llm_http import keep_connections_reusable
from agent.nodes.llm_resilience import resilient
from agent.nodes.params import GroqLLMParams


def build_llm(params: GroqLLMParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from pipecat.services.groq.llm import GroqLLMService

    config = ctx.config
    api_key = config.require("GROQ_API_KEY", f"the groq_llm node '{node_name}'")
    talk = conversation(
        ctx,
        node_name,
        user_speech_timeout_s=params.user_speech_timeout_s,
        max_history_turns=params.max_history_turns,
        tools=_tools() if params.hang_up_tool else None,
    )
    service = shared_client_service_class(resilient(GroqLLMService))(
        shared=ctx.shared,
        api_key=api_key.reveal(),
        base_url=config.groq_base_url,
        # One retry within this budget, then the call's fallback phrase (llm_resilience.py).
        budget_s=params.first_token_timeout_s,
        fallback_model=params.fallback_model,
        settings=GroqLLMService.Settings(
            model=params.model or config.groq_model,
            system_instruction=read_prompt(ctx, params.prompt),
            temperature=params.temperature,
            # Groq's name for the reply length limit (max_tokens is deprecated there).
            max_completion_tokens=params.max_tokens,
        ),
    )
    if params.hang_up_tool:
        service.register_function(END_CALL, _end_call, cancel_on_interruption=False)
    return NodeBuild(processors=[*talk.head, service], after_output=talk.tail, context=talk.context)


END_CALL = "end_call"


@functools.cache
def shared_client_service_class(base: type) -> type:
    """`base` (an OpenAI-style pipecat LLM service) reusing one AsyncOpenAI client per
    process (key, base URL).

    pipecat creates an AsyncOpenAI client (an httpx pool and a TLS context: ~20 ms of blocking
    CPU) for every service, i.e. every call, and never closes it. One shared client keeps
    connections to the provider warm across calls and stops the per-call leak; its transport
    reads each streamed answer to the end, so that the connection is reused
    (agent/nodes/llm_http.py).
    """

    class SharedClientLLMService(base):
        def __init__(self, *, shared: ProcessCache, **kwargs):
            self._shared = shared
            super().__init__(**kwargs)

        def create_client(self, api_key=None, base_url=None, **kwargs):
            key = ("llm", "client", base.__name__, api_key, base_url)

            def create():
                client = super(SharedClientLLMService, self).create_client(
                    api_key=api_key, base_url=base_url, **kwargs
                )
                keep_connections_reusable(client)  # agent/nodes/llm_http.py
                return client

            return self._shared.get_or_create(key, create)

    SharedClientLLMService.__name__ = f"SharedClient{base.__name__}"
    return SharedClientLLMService


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
    models = [p.model or config.groq_model for p in params_list]
    models += [p.fallback_model for p in params_list if p.fallback_model]
    await check_groq_models(config, models)

"""Builder of `groq_llm`, and the start-up check that its model exists.

The node is pipecat's Groq service inside the shared conversation (agent/nodes/conversation.py:
context aggregators, turn-taking, history window). The prompt file is the service's system
instruction (the context holds only the conversation).

Tools: `end_call` (hang_up_tool), `do_not_call` (do_not_call_tool: the number goes on the
do-not-call list, through the call controller; the model is told whether it did) and, when the graph has active transfer destinations (and
`transfer_to` is not []), `transfer_call(destination, reason)`: its destination is an enum of
those names; the call controller says the transfer phrase and puts the call through.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.adapters.openai_llm import ResilientGroqLLMService
from agent.config import Config
from agent.errors import ProviderError
from agent.graph.build import BuildContext, NodeBuild
from agent.graph.suggest import did_you_mean
from agent.nodes.conversation import ListeningTurn, conversation, read_prompt
from agent.nodes.params import GroqLLMParams
from processors.frames import DoNotCallFrame, EndCallFrame, TakeMessageFrame, TransferCallFrame
from processors.turn_end import TurnEndTiming


def build_llm(params: GroqLLMParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    config = ctx.config
    api_key = config.require("GROQ_API_KEY", f"the groq_llm node '{node_name}'")
    # No transfers after hours (agent/graph/hours.py): the call came in while closed.
    open_ = ctx.call.line.open
    destinations = transfer_destinations(ctx.graph, params.transfer_to) if open_ else []
    take_messages = ctx.graph.messages is not None
    offered = tools(
        params.hang_up_tool, destinations, take_messages, do_not_call=params.do_not_call_tool
    )
    talk = conversation(
        ctx,
        node_name,
        user_speech_timeout_s=params.user_speech_timeout_s,
        max_history_turns=params.max_history_turns,
        tools=offered,
        listening=ListeningTurn(
            timing=TurnEndTiming(
                complete_s=params.complete_turn_wait_s,
                open_s=params.user_speech_timeout_s,
                unfinished_s=params.unfinished_turn_wait_s,
            ),
            listen_to_words=params.listen_to_words,
            speculate=params.speculate,
        ),
    )
    # One client per process; one retry within the budget, then the call's fallback phrase
    # (agent/adapters/openai_llm.py, agent/nodes/llm_resilience.py).
    service = ResilientGroqLLMService(
        shared=ctx.shared,
        api_key=api_key.reveal(),
        base_url=config.groq_base_url,
        budget_s=params.first_token_timeout_s,
        fallback_model=params.fallback_model,
        settings=ResilientGroqLLMService.Settings(
            model=params.model or config.groq_model,
            system_instruction=read_prompt(ctx, params.prompt),
            temperature=params.temperature,
            # Groq's name for the reply length limit (max_tokens is deprecated there).
            max_completion_tokens=params.max_tokens,
        ),
    )
    if params.hang_up_tool:
        service.register_function(END_CALL, end_call, cancel_on_interruption=False)
    if destinations:
        service.register_function(
            TRANSFER_CALL, transfer_call_handler(destinations), cancel_on_interruption=False
        )
    if take_messages:
        service.register_function(TAKE_MESSAGE, take_message, cancel_on_interruption=False)
    if params.do_not_call_tool:
        service.register_function(DO_NOT_CALL, do_not_call, cancel_on_interruption=False)
    return NodeBuild(processors=[*talk.head, service], after_output=talk.tail, context=talk.context)


END_CALL = "end_call"
TRANSFER_CALL = "transfer_call"
TAKE_MESSAGE = "take_message"
DO_NOT_CALL = "do_not_call"
DO_NOT_CALL_WAIT_S = 5.0


def transfer_destinations(graph, transfer_to: list[str] | None) -> list[str]:
    """The destinations the model may transfer to: active ones, limited to `transfer_to`."""
    active = graph.active_destinations()
    return active if transfer_to is None else [d for d in active if d in transfer_to]


def tools(
    hang_up: bool = True,
    destinations: list[str] | None = None,
    take_messages: bool = False,
    *,
    do_not_call: bool = False,
):
    """The tools offered, or None: end_call (the model hangs up, saying its own goodbye),
    transfer_call (to one of `destinations`) and, when the graph takes messages,
    take_message (the model decides *when*; the message-taking dialog asks for what is
    missing and reads the number back)."""
    from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
    from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema

    offered = []
    if destinations:
        offered.append(
            FunctionSchema(
                name=TRANSFER_CALL,
                description="Put the caller through to a person. Use when the caller asks for "
                "a human, a person or a department, or needs what only staff can do. The "
                "caller is told they are being connected; do not say goodbye.",
                properties={
                    "destination": {
                        "type": "string",
                        "enum": list(destinations),
                        "description": "Who to put the caller through to.",
                    },
                    "reason": {
                        "type": "string",
                        "description": "A few words on why, for the call record.",
                    },
                },
                required=["destination"],
            )
        )
    if take_messages:
        offered.append(
            FunctionSchema(
                name=TAKE_MESSAGE,
                description="Take a message for the team: use when the caller wants to leave "
                "a message or be called back, or when nobody can help them now. Pass what the "
                "caller has already told you; you will then be asked no more about it: the "
                "system asks for the rest, reads the number back and confirms.",
                properties={
                    "name": {"type": "string", "description": "The caller's name, if given."},
                    "callback_number": {
                        "type": "string",
                        "description": "The number to call back, if the caller gave one.",
                    },
                    "about": {
                        "type": "string",
                        "description": "What the message is about, if the caller said.",
                    },
                },
                required=[],
            )
        )
    if do_not_call:
        offered.append(
            FunctionSchema(
                name=DO_NOT_CALL,
                description="Put this phone number on the do-not-call list. Use when the "
                "person asks not to be called again (stop calling me, take me off your list). "
                "Only after it says the number is listed, tell them they won't be called "
                "again; then end the call.",
                properties={},
                required=[],
            )
        )
    if hang_up:
        offered.append(
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
        )
    return ToolsSchema(standard_tools=offered) if offered else None


async def take_message(params) -> None:
    """The take_message tool: hand the call to the message-taking dialog, which sits
    upstream of the LLM service (agent/nodes/conversation.py), with what the model knows."""
    from pipecat.frames.frames import FunctionCallResultProperties
    from pipecat.processors.frame_processor import FrameDirection

    args = params.arguments or {}

    def text(key: str) -> str | None:
        value = args.get(key)
        return str(value).strip() or None if value is not None else None

    # No new LLM turn for the result: the dialog speaks next.
    await params.result_callback(
        {"status": "taking the message"}, properties=FunctionCallResultProperties(run_llm=False)
    )
    await params.llm.push_frame(
        TakeMessageFrame(
            reason="caller_asked",
            caller_name=text("name"),
            callback_number=text("callback_number"),
            about=text("about"),
        ),
        FrameDirection.UPSTREAM,
    )


async def do_not_call(params) -> None:
    """The do_not_call tool: the call controller lists the number (processors/frames.py
    DoNotCallFrame); the model hears whether it did, so it promises only what is true."""
    import asyncio

    from pipecat.processors.frame_processor import FrameDirection

    done = asyncio.get_running_loop().create_future()
    await params.llm.push_frame(
        DoNotCallFrame(source="tool:do_not_call", done=done), FrameDirection.UPSTREAM
    )
    try:
        listed = await asyncio.wait_for(done, DO_NOT_CALL_WAIT_S)
    except TimeoutError:
        listed = False
    if listed:
        await params.result_callback({"status": "the number is on the do-not-call list"})
    else:
        await params.result_callback(
            {"error": "the number could not be listed; say someone will make sure of it"}
        )


async def end_call(params) -> None:
    from pipecat.processors.frame_processor import FrameDirection

    goodbye = str((params.arguments or {}).get("goodbye") or "") or None
    await params.result_callback({"status": "ending call"})
    # Upstream to the call controller at the head of the chain, which says the goodbye and
    # queues the end of the call behind it.
    await params.llm.push_frame(
        EndCallFrame(reason="agent", goodbye=goodbye), FrameDirection.UPSTREAM
    )


def transfer_call_handler(destinations: list[str]):
    """The transfer_call function for a call whose active destinations are `destinations`."""

    async def transfer_call(params) -> None:
        from pipecat.processors.frame_processor import FrameDirection

        arguments = params.arguments or {}
        destination = str(arguments.get("destination") or "")
        if destination not in destinations:
            await params.result_callback(
                {"error": f"no such destination; choose one of {', '.join(destinations)}"}
            )
            return
        from pipecat.frames.frames import FunctionCallResultProperties

        # No new reply: the controller's transfer phrase is what the caller hears next.
        await params.result_callback(
            {"status": "connecting the caller"},
            properties=FunctionCallResultProperties(run_llm=False),
        )
        # Upstream to the call controller, which says the transfer phrase and hands off.
        reason = str(arguments.get("reason") or "")
        frame = TransferCallFrame(destination=destination, reason=reason, via="llm")
        await params.llm.push_frame(frame, FrameDirection.UPSTREAM)

    return transfer_call


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

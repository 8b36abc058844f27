"""Builder of `local_responder`: what answers the caller in the keyless local graph.

- LLM_BASE_URL set: pipecat's OpenAI service against that OpenAI-compatible endpoint (Ollama,
  llama.cpp server, vLLM, ...) with LLM_MODEL (or the node's model) and the prompt file, one
  shared client per process, the LLM's end_call (and take_message) tools as with `groq_llm`.
- else: processors.scripted_responder.ScriptedResponder over the node's `answers`, matched
  with the router's sentence encoder (loaded once per process), and its `fallback` line.

Either way it sits in the shared conversation (agent/nodes/conversation.py), so turn-taking,
history, interruptions and "what the caller heard" work as with the cloud LLM.
"""

from __future__ import annotations

from agent.adapters.openai_llm import ResilientOpenAILLMService
from agent.graph.build import BuildContext, NodeBuild
from agent.nodes.conversation import conversation, read_prompt
from agent.nodes.groq import END_CALL, TAKE_MESSAGE, end_call, take_message, tools
from agent.nodes.params import LocalResponderParams
from agent.phrases.intent import RouteMatcher, load_encoder, shared_matcher
from agent.phrases.routes import Route
from processors.scripted_responder import Answer, ScriptedResponder


def build_responder(params: LocalResponderParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    llm = bool(ctx.config.llm_base_url)
    talk = conversation(
        ctx,
        node_name,
        user_speech_timeout_s=params.user_speech_timeout_s,
        max_history_turns=params.max_history_turns,
        tools=tools(True, take_messages=ctx.graph.messages is not None) if llm else None,
    )
    answerer = _llm(params, ctx) if llm else _scripted(params, ctx, node_name)
    return NodeBuild(
        processors=[*talk.head, answerer], after_output=talk.tail, context=talk.context
    )


def _llm(params: LocalResponderParams, ctx: BuildContext):
    config = ctx.config
    service = ResilientOpenAILLMService(
        shared=ctx.shared,
        # Local servers ignore the key, but the OpenAI client insists on one.
        api_key=config.llm_api_key.reveal() if config.llm_api_key else "local",
        base_url=config.llm_base_url,
        budget_s=params.first_token_timeout_s,
        settings=ResilientOpenAILLMService.Settings(
            model=params.model or config.llm_model,
            system_instruction=read_prompt(ctx, params.prompt),
            temperature=params.temperature,
            # max_tokens rather than max_completion_tokens: what every local server knows.
            max_tokens=params.max_tokens,
        ),
    )
    service.register_function(END_CALL, end_call, cancel_on_interruption=False)
    if ctx.graph.messages is not None:
        service.register_function(TAKE_MESSAGE, take_message, cancel_on_interruption=False)
    return service


def _scripted(params: LocalResponderParams, ctx: BuildContext, node_name: str):
    names = [f"answer_{i}" for i in range(len(params.answers))]
    answers = {
        name: Answer(a.say, a.hang_up) for name, a in zip(names, params.answers, strict=True)
    }
    matcher = None
    if params.answers:
        routes = {
            name: Route(examples=a.examples, say=a.say)
            for name, a in zip(names, params.answers, strict=True)
        }
        encoder = load_encoder("wordllama", ctx.shared)
        key = ("local_responder", str(ctx.graph.path), node_name, params.threshold)
        matcher = shared_matcher(
            ctx.shared, key, lambda: RouteMatcher(routes, encoder, params.threshold)
        )
    return ScriptedResponder(matcher, answers, params.fallback, name=node_name)

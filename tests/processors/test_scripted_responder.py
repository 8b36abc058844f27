"""processors/scripted_responder.py: answers a context like an LLM would, from the script.

The matcher is the real one (WordLlama), over answers written here.
"""

from __future__ import annotations

import pytest
from pipecat.frames.frames import (
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import run_test

from agent.graph.build import ProcessCache
from agent.phrases.intent import RouteMatcher, load_encoder
from agent.phrases.routes import Route
from processors.frames import EndCallFrame
from processors.scripted_responder import Answer, ScriptedResponder, last_user_text

SHARED = ProcessCache()
ANSWERS = {
    "hours": (["what are your opening hours", "when are you open"], "Nine to five.", False),
    "bye": (["bye", "goodbye", "that's all thanks"], "Goodbye!", True),
}
FALLBACK = "I can only answer a few questions."


@pytest.fixture(scope="module")
def matcher():
    routes = {name: Route(examples=ex, say=say) for name, (ex, say, _) in ANSWERS.items()}
    return RouteMatcher(routes, load_encoder("wordllama", SHARED), threshold=0.6)


def responder(matcher) -> ScriptedResponder:
    answers = {name: Answer(say, hang_up) for name, (_, say, hang_up) in ANSWERS.items()}
    return ScriptedResponder(matcher, answers, FALLBACK, name="responder")


def context_with(*messages: tuple[str, str]) -> LLMContextFrame:
    return LLMContextFrame(LLMContext([{"role": r, "content": c} for r, c in messages]))


def of(frames, kind):
    return [f for f in frames if isinstance(f, kind)]


async def test_answers_the_closest_example_like_an_llm(matcher):
    r = responder(matcher)
    down, _ = await run_test(r, frames_to_send=[context_with(("user", "When are you open?"))])
    kinds = [type(f) for f in down]
    assert kinds == [LLMFullResponseStartFrame, LLMTextFrame, LLMFullResponseEndFrame]
    assert down[1].text == "Nine to five."
    assert r.replies == [("When are you open?", "Nine to five.")]


async def test_unknown_question_gets_the_fallback(matcher):
    r = responder(matcher)
    down, _ = await run_test(
        r, frames_to_send=[context_with(("user", "Do you sell bicycles in red?"))]
    )
    assert [f.text for f in of(down, LLMTextFrame)] == [FALLBACK]


async def test_hang_up_answer_is_said_as_the_goodbye(matcher):
    r = responder(matcher)
    down, up = await run_test(r, frames_to_send=[context_with(("user", "Thanks, bye."))])
    assert not of(down, LLMTextFrame)  # the call controller says it, then hangs up
    [end] = of(up, EndCallFrame)
    assert (end.reason, end.goodbye) == ("agent", "Goodbye!")


async def test_nothing_new_from_the_caller_gets_no_answer(matcher):
    r = responder(matcher)
    frames = [context_with(("user", "hours?"), ("assistant", "Nine to five."))]
    down, up = await run_test(r, frames_to_send=frames)
    assert not of(down, LLMTextFrame) and not of(up, EndCallFrame)


async def test_without_answers_everything_gets_the_fallback():
    r = ScriptedResponder(None, {}, FALLBACK, name="responder")
    down, _ = await run_test(r, frames_to_send=[context_with(("user", "hello"))])
    assert [f.text for f in of(down, LLMTextFrame)] == [FALLBACK]


def test_last_user_text_reads_content_parts():
    parts = [{"type": "text", "text": "how much"}, {"type": "text", "text": "is it"}]
    assert last_user_text([{"role": "user", "content": parts}]) == "how much is it"
    assert last_user_text([]) == ""

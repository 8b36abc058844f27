"""ScriptedResponder (`local_responder` without LLM_BASE_URL): canned answers in place of an LLM.

Stands where an LLM service stands, after pipecat's user aggregator, and behaves like one to
everything around it: for each context the aggregator sends at the end of the caller's turn
it answers the last thing the caller said with `LLMFullResponseStartFrame`, one
`LLMTextFrame`, `LLMFullResponseEndFrame`. So the TTS speaks it, the pacer marks it, the
assistant aggregator writes it into the context and an interruption cuts it exactly as it
would cut an LLM's reply.

The answer is the graph's scripted answer whose example is closest to the caller's words
(agent.phrases.intent.RouteMatcher: the router's sentence similarity), else the fallback line. An
answer with `hang_up` is said as the goodbye (`EndCallFrame` upstream to the call
controller), which then ends the call.

- consumes: `LLMContextFrame`
- produces: the three LLM response frames above; `EndCallFrame` (upstream) for hang_up answers
"""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger
from pipecat.frames.frames import (
    EagerEndOfTurnCancelFrame,
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from processors.frames import EndCallFrame
from processors.passthrough import CONSUMED, PassThroughProcessor


@dataclass(frozen=True)
class Answer:
    say: str
    hang_up: bool = False


class ScriptedResponder(PassThroughProcessor):
    """Answers each caller turn from a script; see the module docstring."""

    def __init__(self, matcher, answers: dict[str, Answer], fallback: str, **kwargs):
        super().__init__(**kwargs)
        self._matcher = matcher  # RouteMatcher over the answers' examples, keyed like `answers`
        self._answers = answers
        self._fallback = Answer(fallback)
        self.replies: list[tuple[str, str]] = []  # (caller's words, answer), for tests

    async def handle(self, frame: Frame, direction: FrameDirection):
        if not isinstance(frame, LLMContextFrame):
            return None
        if frame.speculation:  # not an LLM service: no gate to hold a speculative answer
            await self.broadcast_frame(EagerEndOfTurnCancelFrame)
            return CONSUMED
        words = last_user_text(frame.context.get_messages())
        if not words:
            return CONSUMED  # e.g. a barge-in without words: nothing new to answer
        hit = self._matcher.match(words) if self._matcher is not None else None
        answer = self._answers[hit.route] if hit else self._fallback
        self.replies.append((words, answer.say))
        logger.debug(f"{self}: {words!r} -> {answer.say!r}")
        if answer.hang_up:
            await self.push_frame(
                EndCallFrame(reason="agent", goodbye=answer.say), FrameDirection.UPSTREAM
            )
            return CONSUMED
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame(answer.say))
        await self.push_frame(LLMFullResponseEndFrame())
        return CONSUMED


def last_user_text(messages: list) -> str:
    """The caller's words in the context's last message, if that message is theirs."""
    if not messages:
        return ""
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return ""
    content = last.get("content")
    if isinstance(content, list):  # content parts
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "").strip()

"""ContextWindow: keep the LLM context to its leading system messages plus the last N exchanges.

A phone call can run for many minutes; without a bound every reply would resend the whole
call to the LLM, growing latency and cost turn after turn. Placed right before the LLM
service, this trims the (shared) LLMContext each time an LLMContextFrame passes, so the
aggregators keep appending to an already-trimmed history.

- consumes: nothing (every frame is passed on unchanged, in both directions)
- acts on: LLMContextFrame (downstream): trims `frame.context` in place
- params: `max_turns`, the user/assistant exchanges kept (an exchange starts at a user
  message and includes the replies and tool calls that follow it)
- events: none

What is kept: the leading system/developer messages (a prompt, when the context carries one;
our groq_llm node puts its prompt on the service instead), then everything from the
user message that starts the N-th last exchange. A cut never separates a tool call from its
result: if a kept tool result answers a call made before the cut, the cut moves back to the
exchange holding that call.
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from pipecat.frames.frames import Frame, LLMContextFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

_PROMPT_ROLES = ("system", "developer")


def _role(message: Any) -> str | None:
    return message.get("role") if isinstance(message, dict) else None


def _tool_call_ids(message: Any) -> set[str]:
    if _role(message) != "assistant":
        return set()
    return {call.get("id") for call in message.get("tool_calls") or [] if isinstance(call, dict)}


def trim_messages(messages: list[Any], max_turns: int) -> list[Any]:
    """The messages to keep (a new list), or `messages` itself when nothing needs trimming."""
    head = 0
    while head < len(messages) and _role(messages[head]) in _PROMPT_ROLES:
        head += 1
    body = messages[head:]
    starts = [i for i, message in enumerate(body) if _role(message) == "user"]
    if len(starts) <= max_turns:
        return messages
    cut = starts[-max_turns]
    while True:
        answered = {m.get("tool_call_id") for m in body[cut:] if _role(m) == "tool"}
        orphaned = [i for i in range(cut) if _tool_call_ids(body[i]) & answered]
        if not orphaned:
            break
        cut = max((s for s in starts if s <= orphaned[0]), default=0)
    return [*messages[:head], *body[cut:]]


class ContextWindow(FrameProcessor):
    """Trims the LLM context to its leading system messages plus the last `max_turns` exchanges."""

    def __init__(self, *, max_turns: int, **kwargs):
        if max_turns < 1:
            raise ValueError("max_turns must be at least 1")
        kwargs.setdefault("enable_direct_mode", True)  # a trim in place, no hand-off needed
        super().__init__(**kwargs)
        self._max_turns = max_turns

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame) and direction == FrameDirection.DOWNSTREAM:
            messages = frame.context.get_messages()
            kept = trim_messages(messages, self._max_turns)
            if kept is not messages:
                frame.context.set_messages(kept)
                logger.debug(f"{self}: dropped {len(messages) - len(kept)} old context messages")
        # One forward for every frame: nothing this processor does can swallow a frame.
        await self.push_frame(frame, direction)

"""HeardContextEditor: after a barge-in, the LLM context keeps only what the caller heard.

pipecat's assistant aggregator (just upstream of this processor, after transport out) writes
the interrupted reply into the context from the words the server had *sent*. The pacer knows,
from Twilio's mark echoes, which words were actually *played*; it reports them in a
`HeardTextFrame` right after the `InterruptionFrame`. This processor rewrites the context's
last assistant message to that text, flagged with INTERRUPTED_FLAG (the system prompt tells
the model what the flag means), so the agent never believes the caller heard words that were
cut off.

- consumes: nothing (pass-through)
- acts on: `HeardTextFrame` with interrupted=True
- params: the LLMContext(s) to edit
- events: on_context_edited(editor, heard_text)
"""

from __future__ import annotations

from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection

from agent.adapters.events import declare_event, fire_event
from processors.frames import HeardTextFrame
from processors.passthrough import PassThroughProcessor

INTERRUPTED_FLAG = "[interrupted]"


def rewrite_last_assistant(messages: list, heard: str) -> bool:
    """Make the last assistant message `heard + flag` (or add one). True if changed."""
    content = f"{heard} {INTERRUPTED_FLAG}".strip()
    for message in reversed(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "assistant" and not message.get("tool_calls"):
            message["content"] = content
            return True
        if role == "user":
            break  # the interrupted reply never reached the context: add it
    messages.append({"role": "assistant", "content": content})
    return True


class HeardContextEditor(PassThroughProcessor):
    """Rewrites interrupted assistant turns to the words actually played."""

    DIRECT = True

    def __init__(self, contexts: list, **kwargs):
        super().__init__(**kwargs)
        self._contexts = contexts
        declare_event(self, "on_context_edited")

    async def handle(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, HeardTextFrame) and frame.interrupted:
            for context in self._contexts:
                messages = context.get_messages()
                if rewrite_last_assistant(messages, frame.text):
                    context.set_messages(messages)
            await fire_event(self, "on_context_edited", frame.text)
        return None

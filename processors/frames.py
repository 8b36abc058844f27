"""Switchboard's own frame types, shared by the transport and the processors.

- `TwilioMarkFrame` (system, travels downstream from the input transport): Twilio echoed a
  mark, i.e. the audio sent before it has been played to the caller (`played=False` when the
  echo came because of a `clear`, i.e. the audio was dropped, not heard).
- `OutputMarkFrame` (data, travels downstream to the output transport): ask Twilio to echo
  `mark_name` once everything sent before it has played. Being a data frame it queues behind the
  audio it follows and is dropped with it on an interruption.
- `EndCallFrame` (system, either direction): end the call politely (goodbye, then hang up).
- `HeardTextFrame` (system, downstream from the pacer): after an interruption, the part of the
  agent's speech the caller actually heard (by mark echoes) and what was meant to be said.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.frames.frames import DataFrame, SystemFrame


@dataclass
class TwilioMarkFrame(SystemFrame):
    """Twilio echoed mark `mark_name`; `played` is False when it was flushed by a clear."""

    mark_name: str = ""
    played: bool = True


@dataclass
class OutputMarkFrame(DataFrame):
    """Send a Twilio `mark` named `name` after the audio queued before it."""

    mark_name: str = ""


@dataclass
class HeardTextFrame(SystemFrame):
    """What the caller heard of the agent's last speech run (`spoken` is the full text)."""

    text: str = ""
    spoken: str = ""
    interrupted: bool = False


@dataclass
class EndCallFrame(SystemFrame):
    """Ask the call controller to end the call: say `goodbye` (None: the graph's), then hang up.

    Any processor may push it, in either direction (the router on "stop calling me", the
    LLM's end_call tool).
    """

    reason: str = "agent"
    goodbye: str | None = None

"""Switchboard's own frame types, shared by the transport and the processors.

- `TwilioMarkFrame` (system, travels downstream from the input transport): Twilio echoed a
  mark, i.e. the audio sent before it has been played to the caller (`played=False` when the
  echo came because of a `clear`, i.e. the audio was dropped, not heard).
- `OutputMarkFrame` (data, travels downstream to the output transport): ask Twilio to echo
  `mark_name` once everything sent before it has played. Being a data frame it queues behind the
  audio it follows and is dropped with it on an interruption.
- `EndCallFrame` (system, either direction): end the call politely (goodbye, then hang up).
- `TransferCallFrame` (system, either direction): put the caller through to a person (a
  destination of the graph's `transfer:`): the call controller says the transfer phrase,
  then hands the call to Twilio's <Dial>.
- `TurnFailedFrame` (system, upstream): a service gave up on a turn; the caller hears a
  fallback phrase instead of silence.
- `SegmentTranscribedFrame` (data, downstream from a segmented STT): the STT has finished
  transcribing the caller's n-th utterance, words or none; the turn-stop strategy
  (agent/adapters/segment_turns.py) then stops waiting for words. A data frame, so it arrives
  after the utterance's transcript.
- `SpokenAudioFrame` (data, an `OutputAudioRawFrame`): agent audio that carries its own
  words, placed by byte offset; a cached phrase's, so the pacer knows which of them a
  barge-in cut off.
- `HeardTextFrame` (system, downstream from the pacer): after an interruption, the part of the
  agent's speech the caller actually heard (by mark echoes) and what was meant to be said.
- `TakeMessageFrame` / `OfferMessageFrame` (control, uninterruptible, either direction): start
  taking a message for the owner now / the agent has just offered to take one, and a "yes"
  starts it. The message-taking dialog (processors/message_taking.py) in front of the LLM
  answers them; anyone may push them (the router's route actions, the LLM's take_message tool,
  the call controller after its own phrase). In order with the speech before them, and not
  dropped by a barge-in.
- `MessageTakingFrame` (system, upstream from the message-taking dialog): a message is being
  taken (`active`) or no longer; the intent router answers no turn meanwhile, so a caller's
  answer ("call me back on ...") is never taken for a route.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pipecat.frames.frames import ControlFrame, DataFrame, OutputAudioRawFrame, SystemFrame


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
class SegmentTranscribedFrame(DataFrame):
    """The STT is done with utterance number `segment` (VAD stops counted from 1 per call).

    Not dropped by an interruption: it often sits queued right behind its transcript, and
    that transcript may start a turn (late words, or words over the agent), whose
    interruption would otherwise drop the marker the turn's end waits for (issue 20).
    """

    segment: int = 0
    interruptible: bool = field(default=False, init=False)


@dataclass
class SpokenAudioFrame(OutputAudioRawFrame):
    """Agent audio with its words: (byte offset into `audio` where the word starts, word)."""

    words: tuple[tuple[int, str], ...] = ()


@dataclass
class HeardTextFrame(SystemFrame):
    """What the caller heard of the agent's last speech run (`spoken` is the full text)."""

    text: str = ""
    spoken: str = ""
    interrupted: bool = False


@dataclass
class TurnFailedFrame(SystemFrame):
    """A service could not do its part of a turn, after its own retry (upstream, to the call
    controller, which says the graph's `fallback`, or for a `fatal` failure its
    `trouble_goodbye` and hangs up). `stage` is "stt", "llm" or "tts"; `reason` is short and
    has no secrets ("timeout", "http_503", "stream_cut", "socket_dropped", ...)."""

    stage: str = ""
    reason: str = ""
    fatal: bool = False


@dataclass
class EndCallFrame(SystemFrame):
    """Ask the call controller to end the call: say `goodbye` (None: the graph's), then hang up.

    Any processor may push it, in either direction (the router on "stop calling me", the
    LLM's end_call tool).
    """

    reason: str = "agent"
    goodbye: str | None = None


@dataclass
class DoNotCallFrame(SystemFrame):
    """Ask the call controller to put the call's number (the caller's on an inbound call, the
    callee's on an outbound one) on the do-not-call list (the `stop` route, the LLM's
    do_not_call tool). `done`, when given, gets True once it is listed, False if it could
    not be (the tool tells the model which)."""

    source: str = "route:stop"
    done: asyncio.Future | None = None


@dataclass
class TransferCallFrame(SystemFrame):
    """Ask the call controller to transfer the call to `destination` (None: the graph's
    first): say `say` (None: the graph's transfer phrase; "": already said, e.g. a route's
    phrase), play it to its end, then update the call with a <Dial>. `via` is "route",
    "dtmf" or "llm"; `reason` is a short note for the call record."""

    destination: str | None = None
    reason: str = ""
    via: str = "llm"
    say: str | None = None


@dataclass
class TakeMessageFrame(ControlFrame):
    """Start taking a message for the owner (processors/message_taking.py).

    `reason`: why ("caller_asked", "after_hours", "transfer_failed", ...), stored with the
    message. `asked`: the phrase just said already asked for the caller's name (a route's
    phrase), so the dialog waits for the answer instead of asking. `caller_name`, `callback_number`,
    `about`: what the caller already said (the LLM's tool arguments); the dialog asks only
    for the rest, and always reads the number back.
    """

    reason: str = "caller_asked"
    asked: bool = False
    caller_name: str | None = None  # (`name` is every pipecat frame's own name)
    callback_number: str | None = None
    about: str | None = None
    interruptible: bool = field(default=False, init=False)


@dataclass
class OfferMessageFrame(ControlFrame):
    """The agent has just offered to take a message ("Would you like someone to call you?",
    "Can I take a message?"): if the caller's next turn is a yes, message-taking starts;
    anything else goes on to the LLM as usual."""

    reason: str = "offer_accepted"
    interruptible: bool = field(default=False, init=False)


@dataclass
class MessageTakingFrame(SystemFrame):
    """Upstream from the message-taking dialog: it is taking a message (`active`), or done."""

    active: bool = False

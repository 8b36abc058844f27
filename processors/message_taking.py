"""MessageTaker: takes a message for the owner, one question at a time, without the LLM.

Stands right in front of the LLM (or the scripted responder), behind pipecat's user
aggregator and the history window (agent/nodes/conversation.py puts it there when the graph
has `messages:`). Idle, it passes everything on. Once message-taking starts it answers the
caller's turns itself, the way processors/scripted_responder.py does: the aggregator's
`LLMContextFrame` at the end of each turn is consumed here and the next question goes out as
`LLMFullResponseStartFrame` / `LLMTextFrame` / `LLMFullResponseEndFrame`, so the TTS speaks
it, the pacer marks it, the assistant aggregator writes it into the context (the LLM later
knows a message was taken) and a barge-in cuts it as it would an LLM reply.

The questions, in order, skipping what is already known:

    name       ask_name                  "What's your name?"
    number     ask_number_caller_id      "Should we call you back on the number you're calling from?"
               (yes: the caller ID; no: ask_number; digits said: those)
               ask_number                (no caller ID, or they declined it)
    about      ask_about                 "And what's the message about?"
    confirm    read_back                 "... {number}. Is that right?" (digit by digit)
               yes: the message is taken; no: ask_number_again, then read back again;
               new digits: read back again

"never mind" / "cancel" stops it (`cancelled`). After MAX_UNCLEAR unclear answers in a
row, the message is taken as it stands, unconfirmed. A call that ends half-way through keeps
what the caller said: the message is handed over unconfirmed.

- consumes: `TakeMessageFrame` (start now), `OfferMessageFrame` (a yes to the offer just
  made starts it), `LLMContextFrame` while taking a message or after an offer
- produces: the three LLM response frames above (downstream); `MessageTakingFrame`
  (upstream) when it starts and stops, so the intent router answers no turn meanwhile
- params: `settings` (the graph's MessagesSettings: the prompts), `caller_id` (the call's
  From, offered as the callback number), `clock` (the message's time)
- seam: `bind_sink(sink)`: the `MessageSink` that stores and sends each message the moment
  it is taken (the pipeline assembly binds the call's; agent/records/outbox.py)
- events: on_message_taken(taker, TakenMessage); on_prompt(taker, text) before each thing it
  says (the call record marks that agent turn as the dialog's, agent/records/turns.py)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from loguru import logger
from pipecat.frames.frames import (
    CancelFrame,
    EagerEndOfTurnCancelFrame,
    EndFrame,
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from agent.adapters.events import declare_event, fire_event
from processors.frames import MessageTakingFrame, OfferMessageFrame, TakeMessageFrame
from processors.message_words import caller_name, phone_digits, read_back, yes_or_no
from processors.passthrough import CONSUMED, PassThroughProcessor
from processors.scripted_responder import last_user_text

MAX_UNCLEAR = 3
CANCEL_WORDS = ("never mind", "nevermind", "forget it", "cancel", "don't leave a message")


@dataclass(frozen=True)
class TakenMessage:
    """A message for the owner, as the caller gave it."""

    name: str | None
    callback_number: str | None
    about: str | None
    caller_id: str | None  # the call's From
    reason: str  # caller_asked, offer_accepted, after_hours, transfer_failed, ...
    confirmed: bool  # the caller said yes to the read-back
    taken_at: datetime


class MessageSink(Protocol):
    """Where a taken message goes: stored and sent without the call waiting (never raises)."""

    def message_taken(self, message: TakenMessage) -> None: ...


class MessageTaker(PassThroughProcessor):
    """The message-taking dialog; see the module docstring."""

    def __init__(self, settings, caller_id: str | None = None, *, clock=time.time, **kwargs):
        super().__init__(**kwargs)
        self._s = settings
        self._caller_id = caller_id or None
        self._wall_clock = clock
        self._sink: MessageSink | None = None
        self.state = "idle"  # idle | offered | name | caller_id | number | about | confirm
        self._told_active = False
        self.messages: list[TakenMessage] = []
        self._reset("caller_asked")
        declare_event(self, "on_message_taken")
        declare_event(self, "on_prompt", sync=True)

    def bind_sink(self, sink: MessageSink) -> None:
        self._sink = sink

    @property
    def active(self) -> bool:
        return self.state not in ("idle", "offered")

    async def _tell_router(self) -> None:
        """Tell the processors upstream (the router) whether a message is being taken."""
        if self.active != self._told_active:
            self._told_active = self.active
            await self.push_frame(MessageTakingFrame(active=self.active), FrameDirection.UPSTREAM)

    def _reset(self, reason: str) -> None:
        self._reason = reason
        self._caller_name: str | None = None
        self._number: str | None = None
        self._about: str | None = None
        self._declined_caller_id = False
        self._unclear = 0

    async def handle(self, frame: Frame, direction: FrameDirection):
        try:
            return await self._handle(frame, direction)
        finally:
            if not isinstance(frame, (EndFrame, CancelFrame)):
                await self._tell_router()

    async def _handle(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, TakeMessageFrame):
            await self.start(frame)
            return CONSUMED
        if isinstance(frame, OfferMessageFrame):
            if not self.active:
                self.state, self._reason = "offered", frame.reason
            return CONSUMED
        if isinstance(frame, LLMContextFrame) and direction == FrameDirection.DOWNSTREAM:
            if self.state == "idle":
                return None
            if frame.speculation:
                # A speculative answer (agent/adapters/listening_turns.py) to a turn not yet certain:
                # the dialog answers turns itself, once they end. Withdrawn, so the turn's
                # end brings its words here as usual.
                await self.broadcast_frame(EagerEndOfTurnCancelFrame)
                return CONSUMED
            words = last_user_text(frame.context.get_messages())
            if self.state == "offered":
                if yes_or_no(words) != "yes":
                    self.state = "idle"
                    return None  # not a yes: the LLM answers as usual
                await self.start(TakeMessageFrame(reason=self._reason))
                return CONSUMED
            if words:
                await self._on_answer(words)
            return CONSUMED
        if isinstance(frame, (EndFrame, CancelFrame)) and self.active:
            if self._caller_name or self._number or self._about:
                await self._take(confirmed=False)  # the call ended half-way: keep it
            self.state = "idle"
        return None

    async def start(self, frame: TakeMessageFrame) -> None:
        """Start taking a message (again, if one was under way)."""
        logger.info(f"{self}: taking a message ({frame.reason})")
        self._reset(frame.reason)
        self._caller_name = (frame.caller_name or "").strip() or None
        self._number = phone_digits(frame.callback_number or "")
        self._about = (frame.about or "").strip() or None
        if frame.asked and self._caller_name is None:
            self.state = "name"  # the phrase just said asked for it
            return
        await self._ask_next()

    async def _on_answer(self, words: str) -> None:
        lowered = words.lower()
        if any(w in lowered for w in CANCEL_WORDS):
            self.state = "idle"
            await self._say(self._s.cancelled)
            return
        state = self.state
        if state == "name":
            self._caller_name = caller_name(words)
        elif state == "about":
            self._about = words.strip()
        elif state in ("caller_id", "number", "confirm"):
            digits = phone_digits(words)
            answer = None if digits else yes_or_no(words)
            if digits:
                self._number = digits
            elif state == "caller_id" and answer == "yes":
                self._number = self._caller_id
            elif state == "caller_id" and answer == "no":
                self._declined_caller_id = True
            elif state == "confirm" and answer == "yes":
                await self._take(confirmed=True)
                await self._say(self._s.done)
                return
            elif state == "confirm" and answer == "no":
                self._number, self._declined_caller_id = None, True
                self._unclear = 0
                self.state = "number"
                await self._say(self._s.ask_number_again)
                return
            else:
                await self._unclear_answer(state)
                return
        self._unclear = 0
        await self._ask_next()

    async def _unclear_answer(self, state: str) -> None:
        self._unclear += 1
        if self._unclear >= MAX_UNCLEAR:
            await self._take(confirmed=False)
            await self._say(self._s.done)
            return
        retry = self._s.didnt_catch_number if state == "number" else self._s.unclear
        await self._say(retry)
        if state == "confirm":
            await self._say(self._read_back())

    async def _ask_next(self) -> None:
        if self._caller_name is None:
            self.state, text = "name", self._s.ask_name
        elif self._number is None and self._caller_id and not self._declined_caller_id:
            self.state, text = "caller_id", self._s.ask_number_caller_id
        elif self._number is None:
            self.state, text = "number", self._s.ask_number
        elif self._about is None:
            self.state, text = "about", self._s.ask_about
        else:
            self.state, text = "confirm", self._read_back()
        await self._say(text)

    def _read_back(self) -> str:
        return self._s.read_back.format(number=read_back(self._number or ""))

    async def _take(self, *, confirmed: bool) -> None:
        message = TakenMessage(
            name=self._caller_name,
            callback_number=self._number,
            about=self._about,
            caller_id=self._caller_id,
            reason=self._reason,
            confirmed=confirmed,
            taken_at=datetime.fromtimestamp(self._wall_clock(), UTC),
        )
        self.state = "idle"
        self.messages.append(message)
        logger.info(f"{self}: message taken ({'confirmed' if confirmed else 'unconfirmed'})")
        if self._sink is None:
            logger.error(f"{self}: no message sink bound; the message is not stored")
        else:
            self._sink.message_taken(message)
        await fire_event(self, "on_message_taken", message)

    async def _say(self, text: str) -> None:
        if not text:
            return
        await fire_event(self, "on_prompt", text)
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame(text))
        await self.push_frame(LLMFullResponseEndFrame())

"""WarmAcceptor: the person's side of a warm transfer — the brief, the question, the answer.

The only dialog on the person's media stream (agent/app/warm_leg.py builds the pipeline:
transport in, the graph's VAD and STT, this, the graph's TTS, a pacer, transport out).

- on start: says the brief (live TTS: it is about this caller) and the question (`ask`,
  from the audio cache when it is there);
- listens: keypad 1 accepts, 2 declines; a final transcript that is a yes accepts, a no
  declines (processors/message_words.py `yes_or_no`); anything else waits;
- times out on the injected clock: from the moment the question has played (the pacer's
  `BotStoppedSpeakingFrame`, or START_GRACE_S after the start at the latest), after half
  of `accept_timeout_s` the question is asked once more; at `accept_timeout_s` with no
  answer, it is a timeout (a decline);
- decides through its bound `AcceptSink` (`decide(decision) -> bool`: False when the
  transfer was settled otherwise meanwhile, i.e. the caller hung up), then says
  `connecting` (accepted) or `declined`, or `caller_left` (cutting the brief short if it
  is still playing: an interruption, so the pacer clears it), and ends its pipeline with
  reason "accepted" or "declined" (the pacer plays the phrase to its end first);
- `caller_left()`: the caller hung up during the brief: says `caller_left`, then ends.

- consumes: `InputDTMFFrame`, `TranscriptionFrame`
- produces: `TTSSpeakFrame` (the brief), cached phrase frames, `InterruptionFrame` (both
  ways, at the decision), `EndWorkerFrame`
- params: brief, phrases (PhraseBook or None), accept_timeout_s, clock, the fixed texts
"""

from __future__ import annotations

from typing import Protocol

from loguru import logger
from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    EndWorkerFrame,
    Frame,
    InputDTMFFrame,
    StartFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from processors.cached_speech import cached_speech_frames
from processors.clock import LOOP_CLOCK, Clock, Timer
from processors.message_words import yes_or_no
from processors.passthrough import CONSUMED, PassThroughProcessor

START_GRACE_S = 30.0  # the question not played by then (a stuck TTS): the timers start anyway


class AcceptSink(Protocol):
    """Where the person's decision goes (the warm transfer's registry entry)."""

    def decide(self, decision: str) -> bool:
        """Record "accepted", "declined" or "timeout"; False if the transfer was already
        settled (the caller hung up)."""
        ...


class WarmAcceptor(PassThroughProcessor):
    """See the module docstring."""

    def __init__(
        self,
        brief: str,
        *,
        ask: str,
        connecting: str,
        declined: str,
        caller_left: str,
        accept_timeout_s: float,
        phrases=None,
        clock: Clock = LOOP_CLOCK,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._brief = brief
        self._ask = ask
        self._connecting = connecting
        self._declined = declined
        self._caller_left = caller_left
        self._timeout_s = accept_timeout_s
        self._phrases = phrases
        self._clock = clock
        self._sink: AcceptSink | None = None
        self._timers: list[Timer] = []
        self._listening = False  # the question has played: the timers run
        self.asked = 0
        self.decision: str | None = None  # accepted | declined | timeout | caller_left

    def bind_sink(self, sink: AcceptSink) -> None:
        self._sink = sink

    async def cleanup(self):
        await super().cleanup()
        self._cancel_timers()

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _later(self, delay: float, action) -> None:
        self._timers.append(self._clock.call_later(delay, lambda: self.create_task(action())))

    async def handle(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            await self._on_start()
            return CONSUMED
        if isinstance(frame, BotStoppedSpeakingFrame) and direction == FrameDirection.UPSTREAM:
            self._start_listening()
        elif isinstance(frame, InputDTMFFrame):
            digit = frame.button.value
            if digit in ("1", "2"):
                await self.decide("accepted" if digit == "1" else "declined")
            return CONSUMED
        elif isinstance(frame, TranscriptionFrame):
            answer = yes_or_no(frame.text)
            if answer is not None:
                await self.decide("accepted" if answer == "yes" else "declined")
            return CONSUMED
        elif isinstance(frame, (EndFrame, CancelFrame)):
            self._cancel_timers()
        return None

    async def _on_start(self) -> None:
        await self.push_frame(TTSSpeakFrame(self._brief))
        await self.say(self._ask)
        self.asked = 1
        self._later(START_GRACE_S, self._grace_over)

    async def _grace_over(self) -> None:
        self._start_listening()

    def _start_listening(self) -> None:
        if self._listening or self.decision is not None or self.asked == 0:
            return
        self._listening = True
        self._later(self._timeout_s / 2, self._ask_again)
        self._later(self._timeout_s, self._time_out)

    async def _ask_again(self) -> None:
        if self.decision is None:
            self.asked += 1
            await self.say(self._ask)

    async def _time_out(self) -> None:
        await self.decide("timeout")

    async def say(self, text: str) -> None:
        pcm = self._phrases.audio_for_text(text) if self._phrases is not None else None
        if pcm is None:
            await self.push_frame(TTSSpeakFrame(text))
        else:
            for frame in cached_speech_frames(pcm, text):
                await self.push_frame(frame)

    async def decide(self, decision: str) -> None:
        """Settle the transfer (once): tell the sink, say the phrase, end the stream."""
        if self.decision is not None:
            return
        self._cancel_timers()
        settled = self._sink.decide(decision) if self._sink is not None else True
        if not settled:
            await self.caller_left()
            return
        self.decision = decision
        logger.info(f"{self}: the person {decision} the transfer")
        accepted = decision == "accepted"
        await self.broadcast_interruption()  # answered mid-brief: the rest goes unsaid
        await self.say(self._connecting if accepted else self._declined)
        await self.push_frame(EndWorkerFrame(reason="accepted" if accepted else "declined"))

    async def caller_left(self) -> None:
        """The caller hung up while the person was being asked."""
        if self.decision is not None:
            return
        self._cancel_timers()
        self.decision = "caller_left"
        await self.broadcast_interruption()
        await self.say(self._caller_left)
        await self.push_frame(EndWorkerFrame(reason="caller_left"))

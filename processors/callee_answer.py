"""CalleeAnswer: on an outbound call, wait for the callee, then greet a person or leave the
voicemail on a machine, once.

Placed right after the STT (agent/app/pipeline.py, outbound calls only). Until it decides,
the agent says nothing: it does not talk over the callee's "Hello?" nor over a voicemail
greeting, and the callee's words go no further (the LLM does not answer "Hello?"; the
greeting does). The decision, whichever comes first:

- Twilio's AMD (`amd(answered_by)`, from the /amd callback): `human` -> a person;
  `machine_end_beep` / `machine_end_silence` / `machine_end_other` / `fax` -> a machine whose
  greeting has ended: the message now; `machine_start` -> a machine, still greeting: wait
  for it to end (below); `unknown` -> the words decide.
- The callee's first final transcript, classified (agent/outbound/voicemail.py): a person,
  or a machine: then the agent waits until the callee has been quiet QUIET_AFTER_MACHINE_S
  (the greeting and its beep are over; a VAD start restarts the wait), at most
  MACHINE_WAIT_S, or until AMD reports the message's end.
- Nobody said anything for SILENT_CAP_S from the stream's start: a person who waits for us
  (greet). Speech that started but gave no transcript by DECIDE_CAP_S: a person (greet).

A person: `on_human(why)` (the call controller says the rendered greeting); a machine:
`on_machine(why)` (the controller says the rendered voicemail and hangs up). Each fires at
most once, and never both. `why` is "amd:<AnsweredBy>" or "words: <cue>" or the cap.

- consumes, downstream, until a person is decided (after a machine: for good): the callee's
  transcripts (final and interim) and speaking frames (`(VAD)UserStarted/StoppedSpeakingFrame`,
  which it reads): no turn starts for the LLM's aggregator, so "Hello?" is answered by the
  greeting alone, and a machine's beep cannot barge in on the voicemail
- params: on_human, on_machine, clock (processors/clock.py); `release` (called at cleanup)
  and `watch` (a coroutine run from the start, cancelled at cleanup: AMD results that
  reached another server process) are set by the binder (agent/app/outbound_call.py)
- events: on_callee_words(processor, text), for each final transcript it holds (the call
  record's caller turns: agent/records/turns.py)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    InterimTranscriptionFrame,
    StartFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from agent.adapters.events import declare_event, fire_event
from agent.outbound.voicemail import classify
from processors.clock import LOOP_CLOCK, Clock, Timer
from processors.passthrough import CONSUMED, PassThroughProcessor

SILENT_CAP_S = 4.0  # no speech at all: a person waiting for us to speak
DECIDE_CAP_S = 12.0  # speech but no verdict: greet anyway
QUIET_AFTER_MACHINE_S = 1.5  # a machine by its words: this much quiet = greeting and beep over
MACHINE_WAIT_S = 25.0  # a machine: the message is left by then whatever the line does
MESSAGE_END = ("machine_end_beep", "machine_end_silence", "machine_end_other", "fax")

Decided = Callable[[str], Awaitable[None] | None]
CALLEE_FRAMES = (
    TranscriptionFrame,
    InterimTranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)


class CalleeAnswer(PassThroughProcessor):
    """Person or machine on an outbound call (module docstring)."""

    DIRECT = True

    def __init__(
        self,
        *,
        on_human: Decided,
        on_machine: Decided,
        clock: Clock = LOOP_CLOCK,
        silent_cap_s: float = SILENT_CAP_S,
        decide_cap_s: float = DECIDE_CAP_S,
        quiet_s: float = QUIET_AFTER_MACHINE_S,
        machine_wait_s: float = MACHINE_WAIT_S,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._on_human, self._on_machine = on_human, on_machine
        self._clock = clock
        self._silent_cap_s, self._decide_cap_s = silent_cap_s, decide_cap_s
        self._quiet_s, self._machine_wait_s = quiet_s, machine_wait_s
        self.state = "waiting"  # waiting | machine (waiting for the beep) | human | voicemail
        self.why: str | None = None
        self._spoke = False
        self._speaking = False
        self._machine_why = ""
        self._timers: dict[str, Timer] = {}
        self._started = False
        self._early_amd: str | None = None  # AMD's result before the pipeline started
        # Called at cleanup: stops the AMD results reaching this call (the binder sets it).
        self.release: Callable[[], object] | None = None
        # Run from the start while undecided, cancelled at cleanup: AMD results that reached
        # another server process, read from the records (agent/app/amd_poll.py).
        self.watch: Callable[[], Awaitable[None]] | None = None
        self._watching: asyncio.Task | None = None
        declare_event(self, "on_callee_words")

    async def cleanup(self):
        await super().cleanup()
        self._cancel_all()
        if self._watching is not None:
            await self.cancel_task(self._watching)
            self._watching = None
        if self.release is not None:
            self.release()

    # -- frames -------------------------------------------------------------------------

    async def handle(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            self.started()
            return CONSUMED
        if direction != FrameDirection.DOWNSTREAM or not isinstance(frame, CALLEE_FRAMES):
            return None
        held = self.state != "human"  # the callee's speech goes no further until a person
        if isinstance(frame, UserStartedSpeakingFrame | VADUserStartedSpeakingFrame):
            if held:
                self.speech_started()
        elif isinstance(frame, UserStoppedSpeakingFrame | VADUserStoppedSpeakingFrame):
            if held:
                self.speech_stopped()
        elif isinstance(frame, TranscriptionFrame) and held:
            if frame.text.strip():  # the call record keeps what was said (a caller turn)
                await fire_event(self, "on_callee_words", frame.text)
            self.heard(frame.text)
        return CONSUMED if held else None

    # -- the decision (callable without frames: tests, the AMD callback) ----------------

    def undecided(self) -> bool:
        """Whether AMD's result could still change what this call does."""
        return self.state in ("waiting", "machine")

    def started(self) -> None:
        self._started = True
        if self.watch is not None and self._watching is None:
            self._watching = self.create_task(self.watch(), name="callee-answer-amd-watch")
        self._later("silent", self._silent_cap_s, self._silent_cap)
        self._later("decide", self._decide_cap_s, self._decide_cap)
        if self._early_amd is not None:
            self.amd(self._early_amd)

    def speech_started(self) -> None:
        self._spoke = self._speaking = True
        self._cancel("quiet")

    def speech_stopped(self) -> None:
        self._speaking = False
        if self.state == "machine":
            self._later("quiet", self._quiet_s, self._machine_done)

    def heard(self, text: str) -> None:
        if self.state != "waiting":
            return
        verdict = classify(text)
        if verdict is None:
            return
        if verdict.kind == "human":
            self._human(f"words: {verdict.why}")
        else:
            self._machine_waiting(f"words: {verdict.why}")

    def amd(self, answered_by: str) -> None:
        """Twilio's AnsweredBy for this call (any time; after a decision it changes nothing,
        except that a machine still greeting has now ended)."""
        if not self._started:
            self._early_amd = answered_by
            return
        if self.state == "waiting" and answered_by == "human":
            self._human("amd:human")
        elif self.state in ("waiting", "machine") and answered_by in MESSAGE_END:
            self._voicemail(f"amd:{answered_by}")
        elif self.state == "waiting" and answered_by.startswith("machine"):
            self._machine_waiting(f"amd:{answered_by}")

    # -- states ---------------------------------------------------------------------------

    def _silent_cap(self) -> None:
        if self.state == "waiting" and not self._spoke:
            self._human(f"no words in {self._silent_cap_s:g} s")

    def _decide_cap(self) -> None:
        if self.state == "waiting":
            self._human(f"no verdict in {self._decide_cap_s:g} s")

    def _machine_waiting(self, why: str) -> None:
        self.state = "machine"
        self._machine_why = why
        self._cancel("silent")
        self._cancel("decide")
        self._later("machine", self._machine_wait_s, self._machine_done)
        if not self._speaking:
            self._later("quiet", self._quiet_s, self._machine_done)

    def _machine_done(self) -> None:
        if self.state == "machine":
            self._voicemail(self._machine_why)

    def _human(self, why: str) -> None:
        self.state, self.why = "human", why
        self._cancel_all()
        logger.info(f"{self}: a person answered ({why})")
        self._fire(self._on_human, why)

    def _voicemail(self, why: str) -> None:
        self.state, self.why = "voicemail", why
        self._cancel_all()
        logger.info(f"{self}: an answering machine ({why}): leaving the message")
        self._fire(self._on_machine, why)

    def _fire(self, callback: Decided, why: str) -> None:
        result = callback(why)
        if result is not None:
            self.create_task(result, name="callee-answer")

    # -- timers ---------------------------------------------------------------------------

    def _later(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._cancel(name)
        self._timers[name] = self._clock.call_later(delay, callback)

    def _cancel(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _cancel_all(self) -> None:
        for name in list(self._timers):
            self._cancel(name)

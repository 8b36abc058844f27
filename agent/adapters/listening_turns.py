"""ListeningTurnStop: when a caller's turn ends, chosen by their words, with speculative answers.

pipecat's speech-timeout user turn stop (SpeechTimeoutUserTurnStopStrategy) waits a fixed
time after the VAD's stop; this one waits by what the words say (processors/turn_end.py)
and, with `speculate`, starts the LLM before the turn is certain through pipecat's own
speculation path. It overrides the strategy's private hooks where it has no public door
(the class docstring lists them; tests/adapters/test_listening_turns.py).
"""

from __future__ import annotations

import asyncio
import re

from pipecat.frames.frames import (
    EagerEndOfTurnCancelFrame,
    Frame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
)
from pipecat.turns.types import ProcessFrameResult, UserTurnSpeculation
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy

from processors.clock import LOOP_CLOCK, Clock
from processors.frames import MessageTakingFrame
from processors.turn_end import (
    SpeculationStats,
    TurnEndTiming,
    classify,
    same_words,
    words_are_stale,
)

_WORDS = re.compile(r"\w")
PENDING_WORDS_S = 2.0  # the longest a turn waits for the final of words an interim had


class ListeningTurnStop(SpeechTimeoutUserTurnStopStrategy):
    """pipecat's speech-timeout stop, with a wait chosen by the words and speculative answers.

    After the VAD's stop the turn waits `timing.wait_s(text)` (processors/turn_end.py: short
    for a complete sentence, long for "my bill from"), re-chosen when the final transcript
    comes in; as before, it also needs a transcript and the STT done (final or safety net).

    With `speculate`, the LLM starts before the turn is certain: at the VAD's stop on the
    words known so far (finals, then the latest interim), or when a final transcript comes
    in while the turn is still open, unless the words are unfinished, a message is being
    taken, or the newest words were transcribed before the caller's speech ended (the VAD's
    stop minus its `stop_secs`: an STT's interim from then lags the speech;
    `words_are_stale`), when it waits for newer words. It goes through pipecat's own
    speculation path: `trigger_user_turn_inference_triggered(speculation=...)` makes the
    user aggregator send a provisional copy of the context (the real one is untouched), and
    the LLM service's SpeculationGate holds
    everything the answer produces until the turn ends. The turn's end keeps the answer
    only if the confirmed transcript has the same words (`same_words`); otherwise, or when
    the caller resumes (VAD start), or a final transcript differs, it is withdrawn
    (EagerEndOfTurnCancelFrame: the LLM request is cancelled, its held tokens dropped) and
    the confirmed turn runs the LLM as usual. Counted in `stats`.

    Relies on the speech-timeout strategy's `_handle_vad_user_started_speaking`,
    `_handle_vad_user_stopped_speaking`, `_handle_transcription`, `_restart_user_speech_timer`,
    `_maybe_trigger_user_turn_stopped` (overridden: words an interim had and no final yet
    hold the turn open, at most PENDING_WORDS_S), `_reset` and its `_vad_stopped`,
    `_vad_user_speaking`, `_user_speech_timeout`, `_user_speech_wait_done` attributes
    (tests/adapters/test_turns.py).
    """

    def __init__(
        self,
        *,
        timing: TurnEndTiming,
        speculate: bool,
        stats: SpeculationStats | None = None,
        clock: Clock = LOOP_CLOCK,
        **kwargs,
    ):
        super().__init__(user_speech_timeout=timing.open_s, **kwargs)
        self._timing = timing
        self._speculate_on = speculate
        self._stats = stats if stats is not None else SpeculationStats()
        self._clock = clock
        self._finals: list[str] = []  # this turn's final transcripts
        self._interim = ""  # the latest interim since the last final
        self._vad_stop_at: float | None = None
        self._vad_stop_secs = 0.0  # the VAD's silence before its stop: the speech ended then
        self._words_at: float | None = None  # when the newest transcript (any kind) came
        self._speculation: UserTurnSpeculation | None = None
        self._taking_message = False
        self._in_turn = False  # between the controller's turn start and stop
        self._pending_words_task: asyncio.Task | None = None

    @property
    def speculation(self) -> UserTurnSpeculation | None:
        """The speculative answer in flight, if any (for tests and traces)."""
        return self._speculation

    def _heard(self) -> str:
        return " ".join(t.strip() for t in [*self._finals, self._interim] if t.strip())

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, InterimTranscriptionFrame):
            self._interim = frame.text
            self._words_at = self._clock.now()
            await self._on_new_words()
        elif isinstance(frame, EagerEndOfTurnCancelFrame):
            # Withdrawn by someone else: the LLM wanted a tool, the message-taking dialog
            # answers this turn, the request failed. The confirmed turn runs the LLM anew.
            if self._speculation is not None:
                self._speculation = None
                self._stats.waste("withdrawn")
        elif isinstance(frame, MessageTakingFrame):
            self._taking_message = frame.active
        return await super().process_frame(frame)

    async def _handle_vad_user_started_speaking(self, frame):
        await self._cancel_pending_words()
        await self._withdraw("resumed")
        self._vad_stop_at = None
        await super()._handle_vad_user_started_speaking(frame)

    async def _handle_vad_user_stopped_speaking(self, frame):
        self._vad_stop_at = self._clock.now()
        self._vad_stop_secs = frame.stop_secs
        await super()._handle_vad_user_stopped_speaking(frame)
        await self._maybe_speculate()

    async def _restart_user_speech_timer(self):
        # The wait, by what the words so far say, counted from the VAD's stop.
        wait = self._timing.wait_s(self._heard())
        if self._vad_stopped and self._vad_stop_at is not None:
            wait = max(0.0, wait - (self._clock.now() - self._vad_stop_at))
        self._user_speech_timeout = wait
        await super()._restart_user_speech_timer()

    async def _handle_transcription(self, frame: TranscriptionFrame):
        self._finals.append(frame.text)
        self._interim = ""
        self._words_at = self._clock.now()
        await self._cancel_pending_words()
        speculation = self._speculation
        if speculation is not None and not same_words(speculation.text, self._heard()):
            await self._withdraw("differs")
        await super()._handle_transcription(frame)
        # Still open after the VAD's stop: the final's words choose the wait from here on.
        if self._vad_stopped and not self._vad_user_speaking and not self._user_speech_wait_done:
            await self._restart_user_speech_timer()
            await self._maybe_speculate()

    async def handle_user_turn_started(self):
        self._in_turn = True
        await super().handle_user_turn_started()

    async def handle_user_turn_stopped(self):
        self._in_turn = False
        await super().handle_user_turn_stopped()

    async def _on_new_words(self):
        # Words after the VAD's stop (the STT lags the audio): a speculation on fewer words
        # answers something else; ask again on what is known now.
        speculation = self._speculation
        if speculation is None:
            await self._maybe_speculate()  # e.g. none at the VAD's stop: its words were stale
        elif not same_words(speculation.text, self._heard()):
            await self._withdraw("differs")
            await self._maybe_speculate()

    async def _maybe_speculate(self):
        if not self._speculate_on or self._speculation is not None or self._taking_message:
            return
        if not self._in_turn:  # no turn (an acknowledgement over the agent): nothing to answer
            return
        if not self._vad_stopped or self._vad_user_speaking:
            return
        text = self._heard()
        if not _WORDS.search(text) or classify(text) == "unfinished":
            return
        if self._vad_stop_at is not None and words_are_stale(
            self._words_at, self._vad_stop_at, self._vad_stop_secs
        ):
            return  # transcribed while the caller still spoke: wait for newer words
        self._speculation = UserTurnSpeculation(text=text)
        self._stats.start()
        await self.trigger_user_turn_inference_triggered(speculation=self._speculation)

    async def _withdraw(self, reason: str):
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            self._stats.waste(reason)
            await self.trigger_user_turn_speculation_cancelled()

    async def _maybe_trigger_user_turn_stopped(self):
        # Words heard in an interim but not yet final: the turn waits for their final, or
        # it would end on the earlier finals alone (the context gets what is final) and
        # the rest start a turn of its own. pipecat's STT safety net (its p99 latency after
        # the VAD's stop) can run out before a final that is merely late; this waits at
        # most PENDING_WORDS_S more for one that never comes.
        if self._interim.strip() and self._vad_stopped:
            if self._pending_words_task is None:
                self._pending_words_task = self.task_manager.create_task(
                    self._give_up_pending_words(), f"{self}::pending_words"
                )
            return
        await super()._maybe_trigger_user_turn_stopped()

    async def _give_up_pending_words(self):
        try:
            await asyncio.sleep(PENDING_WORDS_S)
        except asyncio.CancelledError:
            return
        finally:
            self._pending_words_task = None
        self._interim = ""  # never finalized: the turn ends with what is final
        await self._maybe_trigger_user_turn_stopped()

    async def _cancel_pending_words(self):
        if self._pending_words_task is not None:
            task, self._pending_words_task = self._pending_words_task, None
            await self.task_manager.cancel_task(task)

    async def trigger_user_turn_stopped(self, *, enable_user_speaking_frames: bool | None = None):
        speculation, self._speculation = self._speculation, None
        if speculation is not None and same_words(speculation.text, self._heard()):
            self._stats.confirm()
            # The answer already exists: the UserStoppedSpeakingFrame this sends releases
            # it from the LLM service's gate, and the context gets the confirmed words.
            await self.trigger_user_turn_finalized(
                enable_user_speaking_frames=enable_user_speaking_frames,
                confirms_speculation=True,
            )
            return
        if speculation is not None:
            self._stats.waste("differs")
            await self.trigger_user_turn_speculation_cancelled()
        await super().trigger_user_turn_stopped(
            enable_user_speaking_frames=enable_user_speaking_frames
        )

    async def _reset(self, *, clear_vad_user_speaking: bool):
        # A turn boundary: whatever speculation is left answered nothing.
        await self._withdraw("unresolved")
        await self._cancel_pending_words()
        self._finals = []
        self._interim = ""
        self._vad_stop_at = None
        self._words_at = None
        await super()._reset(clear_vad_user_speaking=clear_vad_user_speaking)

"""ListeningFluxTurnStop: a turn Flux ends on unfinished words is held, not answered.

With Deepgram Flux the service decides turns: its EndOfTurn becomes pipecat's
ProposedUserStoppedSpeakingFrame (after the turn's TranscriptionFrame), and EagerEndOfTurn
an EagerTranscriptionFrame that pipecat's eager stop answers speculatively. Flux ends a turn
on a pause mid-sentence ("I'm calling about ... my bill from March."), and the first half
was answered. This stop strategy listens to the words as ListeningTurnStop does for the
other STTs (agent/adapters/listening_turns.py), with the same classification
(processors/turn_end.py `classify`) and the same wait (the groq_llm node's
`unfinished_turn_wait_s`, 1.2 s):

- a proposed end whose words are unfinished is held up to that wait, counted from the
  proposal (Flux's EndOfTurn). If the caller resumes within it (Flux's StartOfTurn, i.e. a
  ProposedUserStartedSpeakingFrame, or any new words), the turn stays open: pipecat's
  controller does not start a second turn while one is open, so the halves are one user turn
  (one context message, one answer), ended by the next EndOfTurn, held again if that one is
  unfinished too. If nothing comes, the turn ends with what was said.
- a complete (or open) turn ends at once, as before: no delay.
- an EagerEndOfTurn on unfinished words starts no speculation.

Only public pipecat hooks: `process_frame`, `trigger_user_turn_stopped` (the door pipecat's
ExternalUserTurnStopStrategy docstring names for shifting the timing),
`handle_user_turn_started`/`handle_user_turn_stopped`. Transcripts after the first in a turn
reach the base strategy with a leading space: it concatenates them bare ("aboutmy bill"),
which the speculated and the committed text would both carry into the match rule and the
speculative request. Counting is CountedEagerTurnStop's (agent/adapters/eager_turns.py).
"""

from __future__ import annotations

import asyncio
import dataclasses

from pipecat.frames.frames import (
    EagerEndOfTurnCancelFrame,
    EagerTranscriptionFrame,
    Frame,
    InterimTranscriptionFrame,
    ProposedUserStartedSpeakingFrame,
    ProposedUserStoppedSpeakingFrame,
    TranscriptionFrame,
)
from pipecat.turns.types import ProcessFrameResult

from agent.adapters.eager_turns import CountedEagerTurnStop
from processors.clock import LOOP_CLOCK, Clock
from processors.turn_end import SpeculationStats, classify


def _spaced(frame: TranscriptionFrame | EagerTranscriptionFrame):
    """A copy of `frame` whose text starts with a space (for the base's bare concatenation)."""
    return dataclasses.replace(frame, text=" " + frame.text.lstrip())


class ListeningFluxTurnStop(CountedEagerTurnStop):
    """Flux's turn ends, held while the words are unfinished (see the module docstring).

    `unfinished_s` is the longest hold after a proposed end on unfinished words (0: never
    hold); `clock` times it. With Flux's eager end of turn off this is pipecat's external
    stop with the hold: no EagerTranscriptionFrame comes, so nothing is speculated.
    """

    def __init__(
        self,
        *,
        unfinished_s: float,
        clock: Clock = LOOP_CLOCK,
        stats: SpeculationStats | None = None,
        **kwargs,
    ):
        super().__init__(stats=stats, **kwargs)
        self._unfinished_s = unfinished_s
        self._clock = clock
        self._turn_finals: list[str] = []  # this turn's final transcripts
        self._caller_speaking = False  # between Flux's StartOfTurn and EndOfTurn
        self._hold_task: asyncio.Task | None = None
        self._holds = 0  # turn ends held (for tests and traces)

    @property
    def holding(self) -> bool:
        """Whether a proposed end is being held now."""
        return self._hold_task is not None

    @property
    def holds(self) -> int:
        """How many proposed ends this strategy has held."""
        return self._holds

    def heard(self) -> str:
        """This turn's final words so far."""
        return " ".join(t.strip() for t in self._turn_finals if t.strip())

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, ProposedUserStartedSpeakingFrame):
            self._caller_speaking = True
            await self._resume()
        elif isinstance(frame, ProposedUserStoppedSpeakingFrame):
            self._caller_speaking = False
        elif isinstance(frame, InterimTranscriptionFrame):
            await self._resume()
        elif isinstance(frame, TranscriptionFrame) and frame.text.strip():
            await self._resume()
            earlier = bool(self._turn_finals)
            self._turn_finals.append(frame.text)
            if earlier:
                frame = _spaced(frame)
        elif isinstance(frame, EagerTranscriptionFrame):
            if classify(f"{self.heard()} {frame.text}") == "unfinished":
                # "I'm calling about": no speculation; a TurnResumed's cancel finds none.
                return ProcessFrameResult.CONTINUE
            if self._turn_finals:
                frame = _spaced(frame)
        elif isinstance(frame, EagerEndOfTurnCancelFrame):
            await self._resume()
        return await super().process_frame(frame)

    async def trigger_user_turn_stopped(self, *, enable_user_speaking_frames: bool | None = None):
        if self._hold_task is not None:
            return  # already held (pipecat's transcript timer asks again every 0.5 s)
        if self._unfinished_s > 0 and classify(self.heard()) == "unfinished":
            self._holds += 1
            self._hold_task = self.task_manager.create_task(
                self._hold(enable_user_speaking_frames), f"{self}::unfinished_hold"
            )
            return
        await super().trigger_user_turn_stopped(
            enable_user_speaking_frames=enable_user_speaking_frames
        )

    async def _hold(self, enable_user_speaking_frames: bool | None):
        try:
            await self._clock.sleep(self._unfinished_s)
        except asyncio.CancelledError:
            return
        self._hold_task = None
        if self._caller_speaking:
            return  # resumed at the last instant: the turn goes on to Flux's next end
        # Nothing more came: the turn ends with what was said.
        await super().trigger_user_turn_stopped(
            enable_user_speaking_frames=enable_user_speaking_frames
        )

    async def _resume(self):
        """The caller went on: a held end is dropped, the turn stays open for the rest."""
        if self._hold_task is not None:
            task, self._hold_task = self._hold_task, None
            await self.task_manager.cancel_task(task)

    async def handle_user_turn_started(self):
        await self._resume()
        self._turn_finals = []
        await super().handle_user_turn_started()

    async def handle_user_turn_stopped(self):
        await self._resume()
        self._turn_finals = []
        self._caller_speaking = False
        await super().handle_user_turn_stopped()

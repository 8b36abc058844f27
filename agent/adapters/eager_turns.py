"""CountedEagerTurnStop: pipecat's eager user turn stop (Flux's EagerEndOfTurn), counted.

pipecat's EagerUserTurnStopStrategy answers a Flux EagerEndOfTurn speculatively; this
subclass counts each speculative answer into the call's SpeculationStats
(processors/turn_end.py), as ListeningTurnStop (agent/adapters/listening_turns.py) does for
the other STTs, so the speculation counts mean the same whichever STT a graph uses.
"""

from __future__ import annotations

from pipecat.frames.frames import EagerEndOfTurnCancelFrame, Frame
from pipecat.turns.types import ProcessFrameResult, UserTurnSpeculation
from pipecat.turns.user_stop import EagerUserTurnStopStrategy

from processors.turn_end import SpeculationStats


class CountedEagerTurnStop(EagerUserTurnStopStrategy):
    """pipecat's eager stop (Flux's EagerEndOfTurn answered speculatively), counted.

    Its rule is ours: the committed transcript must have the same words after
    normalisation (pipecat's NormalizedMatch). Counts into `stats` as ListeningTurnStop
    does: started, confirmed, and wasted as "differs" (the committed words are other),
    "withdrawn" (Flux's TurnResumed, or the LLM wanted a tool) or "unresolved" (the turn
    ended otherwise, or the 5 s bound). Reads pipecat's `_speculation` to know whether a
    withdrawal from outside finds one in flight (tests/adapters/test_listening_turns.py).
    """

    def __init__(self, *, stats: SpeculationStats | None = None, **kwargs):
        super().__init__(**kwargs)
        self._stats = stats if stats is not None else SpeculationStats()
        self._stopping = False

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, EagerEndOfTurnCancelFrame) and self._speculation is not None:
            self._stats.waste("withdrawn")
        return await super().process_frame(frame)

    async def trigger_user_turn_inference_triggered(
        self, *, speculation: UserTurnSpeculation | None = None
    ):
        if speculation is not None:
            self._stats.start()
        await super().trigger_user_turn_inference_triggered(speculation=speculation)

    async def trigger_user_turn_finalized(
        self, *, enable_user_speaking_frames: bool | None = None, confirms_speculation=False
    ):
        if confirms_speculation:
            self._stats.confirm()
        await super().trigger_user_turn_finalized(
            enable_user_speaking_frames=enable_user_speaking_frames,
            confirms_speculation=confirms_speculation,
        )

    async def trigger_user_turn_stopped(self, *, enable_user_speaking_frames: bool | None = None):
        self._stopping = True
        try:
            await super().trigger_user_turn_stopped(
                enable_user_speaking_frames=enable_user_speaking_frames
            )
        finally:
            self._stopping = False

    async def trigger_user_turn_speculation_cancelled(self):
        self._stats.waste("differs" if self._stopping else "unresolved")
        await super().trigger_user_turn_speculation_cancelled()

"""SpeakingState: has what the agent just said finished playing? (for waits, not frames)

The pacer (processors/pacer/) sends `BotStartedSpeakingFrame` / `BotStoppedSpeakingFrame`
both ways as Twilio's mark echoes say the agent's audio started and finished playing. A
processor upstream of it that must act only once a phrase it queued has been heard (the
call controller before a cold transfer's REST update, the hold music after the hold
phrase) feeds it the upstream ones and awaits `played()`: the agent starts speaking (at
most `start_s`: a phrase that never plays does not block for ever) and then stops (at
most `max_s`). Time comes from the injected clock (processors/clock.py).
"""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import BotStartedSpeakingFrame, BotStoppedSpeakingFrame, Frame
from pipecat.processors.frame_processor import FrameDirection

from processors.clock import Clock

START_S = 3.0
MAX_S = 15.0


class SpeakingState:
    """Whether the agent's audio is playing, from the pacer's upstream speaking frames."""

    def __init__(self) -> None:
        self.speaking = False
        self._changed = asyncio.Event()

    def on_frame(self, frame: Frame, direction: FrameDirection) -> None:
        kinds = (BotStartedSpeakingFrame, BotStoppedSpeakingFrame)
        if isinstance(frame, kinds) and direction == FrameDirection.UPSTREAM:
            self.speaking = isinstance(frame, BotStartedSpeakingFrame)
            self._changed.set()

    async def wait_for(self, speaking: bool, clock: Clock, timeout: float) -> bool:
        deadline = clock.now() + timeout
        while self.speaking != speaking:
            left = deadline - clock.now()
            if left <= 0:
                return False
            self._changed.clear()
            await clock.wait(self._changed, left)
        return True

    async def played(self, clock: Clock, start_s: float = START_S, max_s: float = MAX_S) -> None:
        """Until what was just queued has played (module docstring)."""
        if self.speaking or await self.wait_for(True, clock, start_s):
            await self.wait_for(False, clock, max_s)

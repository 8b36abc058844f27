"""PassThroughProcessor: a FrameProcessor that forwards every frame unless told otherwise.

Forgetting `push_frame` in a pipecat processor silently swallows frames (a StartFrame lost
stalls the whole pipeline). Subclasses implement `handle(frame, direction)` and return
`CONSUMED` only for frames they deliberately replace or drop; everything else is forwarded,
in order, after `handle` returns.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

CONSUMED = object()


class PassThroughProcessor(FrameProcessor):
    """Base class: `handle` observes or consumes; forwarding is automatic."""

    #: pipecat's direct mode: frames are handled in the task that pushes them instead of
    #: through an input queue, a process queue and two tasks of this processor's own (the
    #: hand-offs that dominate a call's CPU at scale). For processors whose `handle` never
    #: waits on anything slow: a frame pushed to them is handled before the push returns.
    DIRECT = False

    def __init__(self, **kwargs):
        kwargs.setdefault("enable_direct_mode", self.DIRECT)
        super().__init__(**kwargs)

    async def handle(self, frame: Frame, direction: FrameDirection) -> object | None:
        """Look at a frame. Return CONSUMED to stop it here; anything else forwards it."""
        return None

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if await self.handle(frame, direction) is not CONSUMED:
            await self.push_frame(frame, direction)

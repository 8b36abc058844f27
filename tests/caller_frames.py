"""The caller's side of a turn as the turn strategies see it: interim and final transcripts,
the VAD's start and stop; and `Heard`, the answers' text that came out of the LLM (shared
by the barge-in, listening-turn and Flux-turn tests)."""

from pipecat.frames.frames import (
    InterimTranscriptionFrame,
    LLMTextFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


def interim(text):
    return InterimTranscriptionFrame(text, "caller", "now")


def final(text):
    return TranscriptionFrame(text, "caller", "now", finalized=True)


def start():
    return VADUserStartedSpeakingFrame(start_secs=0.2)


def stop():
    return VADUserStoppedSpeakingFrame(stop_secs=0.2)


class Heard(FrameProcessor):
    """Collects the LLM's text frames that pass downstream (what the caller would hear)."""

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMTextFrame) and direction == FrameDirection.DOWNSTREAM:
            self.texts.append(frame.text)
        await self.push_frame(frame, direction)

"""The caller's side of a turn as the turn strategies see it: interim and final transcripts,
the VAD's start and stop (shared by the barge-in and the listening-turn tests)."""

from pipecat.frames.frames import (
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)


def interim(text):
    return InterimTranscriptionFrame(text, "caller", "now")


def final(text):
    return TranscriptionFrame(text, "caller", "now", finalized=True)


def start():
    return VADUserStartedSpeakingFrame(start_secs=0.2)


def stop():
    return VADUserStoppedSpeakingFrame(stop_secs=0.2)

"""SegmentAwareTurnStop: a caller's turn ends when a segmented STT has transcribed its last
utterance, not on a guess (pipecat's speech-timeout stop, entered where it has no public door).

pipecat's SpeechTimeoutUserTurnStopStrategy ends a turn once the caller has been quiet for
`user_speech_timeout` and the STT is done: its transcript came marked final, or a safety net
ran out (the STT's p99 latency, `ttfs_p99_latency`, after the VAD's stop). A segmented STT
(Whisper) transcribes each utterance only after the VAD's stop, and marks every transcript
final. Both go wrong when the caller pauses mid-sentence and the machine is loaded:

- Whisper's words for the last utterance come after the net: the turn ends with the words
  before them. A caller's "Wait, ... where is your office?" got the fallback for "Wait", and
  the late "where is your office?" started a new turn that cut the fallback off.
- The words of an earlier utterance, marked final, come after the VAD's last stop: pipecat
  takes them as the end of the STT's work, though the last utterance is still being heard.

`SegmentAwareTurnStop` is used when a node upstream produces the `segment` kind. It counts
the VAD's stops and stops waiting for the STT exactly when `SegmentTranscribedFrame` says the
STT is done with the latest one (words or none); a transcript's `finalized` no longer ends
the wait. The STT's `ttfs_p99_latency` then only bounds a transcription that never ends.

It relies on pipecat's SpeechTimeoutUserTurnStopStrategy internals: `_handle_transcription
(frame)` (overridden), the `_vad_stopped`, `_stt_wait_done` and `_stt_timeout_task`
attributes, and `_maybe_trigger_user_turn_stopped()` (tests/adapters/test_turns.py).
"""

from __future__ import annotations

from dataclasses import replace

from pipecat.frames.frames import Frame, TranscriptionFrame, VADUserStoppedSpeakingFrame
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy

from processors.frames import SegmentTranscribedFrame


class SegmentAwareTurnStop(SpeechTimeoutUserTurnStopStrategy):
    """pipecat's speech-timeout stop, told exactly when each utterance's transcription ends."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._vad_stops = 0  # per call, as the STT counts its segments

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self._vad_stops += 1
        result = await super().process_frame(frame)
        if isinstance(frame, SegmentTranscribedFrame) and frame.segment == self._vad_stops:
            await self._latest_segment_transcribed()
        return result

    async def _handle_transcription(self, frame: TranscriptionFrame):
        # Every segment's transcript is "final", even one from before the VAD's last stop;
        # the SegmentTranscribedFrame of the latest stop is what says the STT is done.
        await super()._handle_transcription(replace(frame, finalized=False))

    async def _latest_segment_transcribed(self):
        # Only while the caller is still quiet after that stop: once the VAD hears them again,
        # the next utterance's words are the ones to wait for.
        if not self._vad_stopped or self._stt_wait_done:
            return
        self._stt_wait_done = True
        if self._stt_timeout_task:
            await self.task_manager.cancel_task(self._stt_timeout_task)
            self._stt_timeout_task = None
        await self._maybe_trigger_user_turn_stopped()

"""agent/adapters/segment_turns.py: the pipecat speech-timeout stop internals SegmentAwareTurnStop uses."""

from __future__ import annotations

from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy

from agent.adapters.segment_turns import SegmentAwareTurnStop
from tests.adapters.contract import assert_callable, assert_has_attrs, assert_source_mentions


def test_speech_timeout_stop_internals():
    cls = SpeechTimeoutUserTurnStopStrategy
    assert_callable(cls, "_handle_transcription", ["self", "frame"], is_async=True)
    assert_callable(cls, "_maybe_trigger_user_turn_stopped", ["self"], is_async=True)
    assert_source_mentions(cls, "process_frame", "self._handle_transcription(")
    stop = SegmentAwareTurnStop(user_speech_timeout=0.4)
    assert_has_attrs(stop, "_vad_stopped", "_stt_wait_done", "_stt_timeout_task")
    assert stop._stt_timeout_task is None

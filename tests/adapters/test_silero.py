"""agent/adapters/silero.py: the pipecat Silero internals the shared-session analyzer uses."""

from __future__ import annotations

import numpy as np
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from agent.adapters.silero import (
    SharedSessionSileroVADAnalyzer,
    model_state,
    set_model_state,
    shared_session_model,
)
from agent.graph.build import ProcessCache
from agent.nodes.vad import shared_silero_session
from tests.adapters.contract import assert_callable, assert_has_attrs, assert_source_mentions


def test_silero_model_keeps_session_and_state_where_the_adapter_reads_them():
    # Built without __init__ (it loads the file): __init__ sets session and sample_rates.
    assert_source_mentions(SileroOnnxModel, "__init__", "self.session =", "self.sample_rates =")
    assert_source_mentions(SileroOnnxModel, "__call__", "self._state", "self._context")
    assert_callable(SileroOnnxModel, "reset_states", ["self", "batch_size"])
    model = shared_session_model(shared_silero_session(ProcessCache()))
    state, context = model_state(model)
    assert state.shape == (2, 1, 128) and context.shape == (1, 0)
    set_model_state(model, np.ones((2, 1, 128), np.float32), np.zeros((1, 32), np.float32))
    score = model(np.zeros(256, np.float32), 8000)  # pipecat's own call reads our state
    assert 0.0 <= float(score[0][0]) <= 1.0
    assert model_state(model)[1].shape == (1, 32)
    model.reset_states()
    assert model_state(model)[1].shape == (1, 0)


def test_vad_analyzer_internals_the_batched_analyzer_drives():
    assert_callable(VADAnalyzer, "_run_analyzer", ["self", "buffer"], is_async=False)
    assert_callable(VADAnalyzer, "_get_smoothed_volume", ["self", "audio"], is_async=False)
    assert_callable(VADAnalyzer, "analyze_audio", ["self", "buffer"], is_async=True)
    assert_callable(SileroVADAnalyzer, "_maybe_reset_model", ["self", "confidence"])
    assert_callable(SileroVADAnalyzer, "voice_confidence", ["self", "buffer"])
    # The state machine asks for a window's confidence, then its volume.
    assert_source_mentions(
        VADAnalyzer, "_run_analyzer", "self.voice_confidence(", "self._get_smoothed_volume("
    )
    assert_source_mentions(
        SileroVADAnalyzer, "__init__", "self._model =", "self._windows_since_reset = 0"
    )
    assert_source_mentions(SileroVADAnalyzer, "__init__", "self._low_confidence_windows = 0")
    analyzer = SharedSessionSileroVADAnalyzer(
        shared_silero_session(ProcessCache()), VADParams(), sample_rate=8000
    )
    analyzer.set_sample_rate(8000)
    assert_has_attrs(
        analyzer, "_vad_buffer", "_vad_frames_num_bytes", "_vad_state", "_prev_volume", "_executor"
    )
    assert analyzer._vad_frames_num_bytes == 512  # one 32 ms Silero window at 8 kHz
    assert analyzer._vad_state == VADState.QUIET
    assert isinstance(analyzer.model, SileroOnnxModel)

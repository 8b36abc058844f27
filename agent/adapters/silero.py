"""pipecat's Silero VAD, entered where it has no public door: every private name it is touched by.

`SharedSessionSileroVADAnalyzer` is pipecat's SileroVADAnalyzer with the model's onnxruntime
session shared by every call (pipecat loads the model file in `__init__`; ~70 ms that stall
the event loop) and its inference batched with other calls' (agent/nodes/silero_batch.py).
It relies on these pipecat internals (tests/adapters/test_silero.py names each):

- `SileroOnnxModel`: built without its `__init__` (which loads the file), given `session`
  and `sample_rates`; its per-call recurrent state is `_state` and `_context`
  (`model_state` / `set_model_state` below, for the batcher);
- `VADAnalyzer`'s buffer and state machine: `_vad_buffer`, `_vad_frames_num_bytes`,
  `_vad_state`, `_prev_volume`, `_run_analyzer(buffer)`, and `_get_smoothed_volume(audio)`,
  overridden to read each window's own level instead of a rolling 400 ms loudness;
- `SileroVADAnalyzer`'s `_model`, `_windows_since_reset`, `_low_confidence_windows`,
  `_maybe_reset_model(confidence)` and the inference thread `_executor`.

Why each change (agent/nodes/vad.py's docstring has the what; docs/decisions/
silero-batching.md the measurements): a window that does not complete a 32 ms Silero
window is buffered on the loop, not sent to a thread; scored windows of every call run as
one batch; a window below `min_volume` is not scored (the model's state never sees it, so
it does not count towards pipecat's state reset); the volume gate reads each window's RMS,
smoothed 0.5, so a barge-in opens it within two windows.
"""

from __future__ import annotations

import audioop  # deprecated in 3.13; pipecat itself uses it (audioop-lts there)
import math
from collections import deque
from typing import Protocol

import numpy as np
from loguru import logger
from pipecat.audio.utils import exp_smoothing
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState


class WindowScorer(Protocol):
    """Scores a call's whole windows, in order, against its model (SileroBatcher)."""

    async def score(self, model: SileroOnnxModel, windows: list[bytes]) -> list[float]: ...


def window_level(pcm: bytes) -> float:
    """RMS level of 16-bit PCM on pipecat's volume scale: -110 dB → 0, -10 dB → 1, clipped."""
    if not pcm:
        return 0.0
    # audioop's C loop: ~1 µs a window where numpy's float copy, mean and sqrt took ~10.
    rms = audioop.rms(pcm, 2) / 32768.0
    if rms <= 1e-6:
        return 0.0
    return min(1.0, max(0.0, (20.0 * math.log10(rms) + 110.0) / 100.0))


def smoothed_level(pcm: bytes, previous: float) -> float:
    """A window's level smoothed with the previous one's (0.5), as the volume gate reads it."""
    return exp_smoothing(window_level(pcm), previous, 0.5)


def shared_session_model(session) -> SileroOnnxModel:
    """pipecat's Silero model around an already loaded onnxruntime session, fresh state."""
    model = SileroOnnxModel.__new__(SileroOnnxModel)  # its __init__ loads the model file
    model.session = session
    model.sample_rates = [8000, 16000]
    model.reset_states()
    return model


def model_state(model: SileroOnnxModel) -> tuple[np.ndarray, np.ndarray]:
    """A call's recurrent state (2, 1, 128) and context (1, 0 or 32) on pipecat's model."""
    return model._state, model._context


def set_model_state(model: SileroOnnxModel, state: np.ndarray, context: np.ndarray) -> None:
    """Leave `state` and `context` on the model, where its own `__call__` and
    `reset_states()` read and reset them."""
    model._state = state
    model._context = context


class SharedSessionSileroVADAnalyzer(SileroVADAnalyzer):
    """A SileroVADAnalyzer with its own recurrent state over a shared session.

    With `batcher`, windows are scored in batches with other calls' and quiet windows are
    not scored; without, one window at a time on a thread of the analyzer's own, as
    pipecat does (the tests' reference).
    """

    def __init__(
        self,
        session,
        params: VADParams,
        *,
        sample_rate: int,
        batcher: WindowScorer | None = None,
    ):
        # Skip SileroVADAnalyzer.__init__ (it loads the model file); do the rest of it.
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)
        self._model = shared_session_model(session)
        self._windows_since_reset = 0
        self._low_confidence_windows = 0
        self._batcher = batcher
        self._min_volume = params.min_volume
        # Batched: each window's (confidence, smoothed volume, scored?), read back in
        # order by pipecat's state machine through the two methods below.
        self._scored: deque[tuple[float, float, bool]] = deque()
        self._window_volume: float | None = None
        self.windows_skipped = 0  # quiet windows not scored
        if batcher is not None:
            self._executor.shutdown(wait=False)  # never started, never needed

    @property
    def model(self) -> SileroOnnxModel:
        return self._model

    def _get_smoothed_volume(self, audio: bytes) -> float:
        if self._window_volume is not None:  # measured with the window's score
            volume, self._window_volume = self._window_volume, None
            return volume
        # This 32 ms window's level, not pipecat's rolling 400 ms loudness (module docstring).
        return smoothed_level(audio, self._prev_volume)

    def voice_confidence(self, buffer) -> float:
        if not self._scored:
            return super().voice_confidence(buffer)
        # pipecat asks for the window's confidence, then for its volume.
        confidence, self._window_volume, scored = self._scored.popleft()
        if scored:  # the model never saw a skipped window: its state did not drift
            self._maybe_reset_model(confidence)
        return confidence

    async def analyze_audio(self, buffer: bytes) -> VADState:
        if len(self._vad_buffer) + len(buffer) < self._vad_frames_num_bytes:
            # Not a full window yet: nothing to infer, the state cannot change.
            self._vad_buffer += buffer
            return self._vad_state
        if self._batcher is None:
            return await super().analyze_audio(buffer)
        # Score every whole window first (batched with other calls), then run pipecat's
        # own state machine over them, which reads the scores back in order.
        pending = self._vad_buffer + buffer
        size = self._vad_frames_num_bytes
        volume = self._prev_volume
        levels: list[tuple[float, bool]] = []  # each window's volume, and scored?
        windows: list[bytes] = []
        for start in range(0, len(pending) - size + 1, size):
            window = pending[start : start + size]
            volume = smoothed_level(window, volume)
            # Too quiet to count as speech whatever the model says: not scored.
            scored = volume >= self._min_volume
            levels.append((volume, scored))
            if scored:
                windows.append(window)
        try:
            scores = iter(await self._batcher.score(self._model, windows))
        except Exception as exc:  # as pipecat's voice_confidence: never kill the call
            logger.error(f"Silero VAD could not score a frame's windows: {exc!r}")
            scores = iter([0.0] * len(windows))
        self.windows_skipped += len(levels) - len(windows)
        for volume, scored in levels:
            self._scored.append((next(scores) if scored else 0.0, volume, scored))
        try:
            return self._run_analyzer(buffer)
        finally:
            self._scored.clear()

    async def cleanup(self):
        if self._batcher is None:
            await super().cleanup()

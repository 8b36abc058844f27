"""Builder of `silero_vad`: pipecat's VADProcessor around a Silero analyzer at 8 kHz.

The Silero ONNX session (~2 MB of weights, ~70 ms to load, and a stall of the event loop for
every other call while it loads) is created once per process and shared: an inference
session is stateless between runs. What is per call is the model's recurrent state, so each
call gets its own analyzer and state around the shared session.

Inference runs off the event loop (onnxruntime releases the GIL), as pipecat does, with two
changes to how, found by profiling many calls in one process:
- pipecat hands every audio frame to the analyzer's thread, even frames that do not complete
  a 32 ms Silero window and so need no inference at all. Those are buffered right here, on
  the loop (with 20 ms frames, 3 of every 8 cost an append instead of a thread round trip;
  the transport's 60 ms frames always complete a window, so each costs one round trip).
- pipecat gives each analyzer a thread of its own and scores one window per run: with many
  calls, dozens of threads each wake ~30 times a second and fight the event loop for the
  GIL, and each run pays onnxruntime's fixed cost (88 µs a window). All calls share one
  inference thread and one batcher instead (agent/nodes/silero_batch.py): the windows of
  every call waiting at that moment run as one batch (33-38 µs a window from 8 calls up).
  Each analyzer awaits a window's score before it submits the next, so they stay in order.
- A window too quiet to pass the volume gate (below `min_volume`) cannot be speech whatever
  the model says, so it is not scored at all: on a phone call the caller is silent or
  listening most of the time, so most windows cost one RMS. The model's state simply does
  not see them, and they do not count towards pipecat's reset of that state (it resets the
  state because non-speech the model saw makes it drift). Checked on the caller fixtures,
  over silence, -65 dB and -55 dB noise: every VAD start and stop at the same window as
  scoring every window, but one stop 60 ms earlier (tests/nodes/test_vad_node.py).
- pipecat's volume gate (`min_volume`) measures BS.1770 loudness over a rolling 400 ms block,
  smoothed: speech only clears the gate ~0.5 s after it starts, so the caller had to talk
  over the agent for ~0.8 s before it stopped. Here the level is each 32 ms window's RMS
  on the same 0..1 scale, smoothed 0.5: the gate opens within two windows (Piper speech:
  VAD start 0.84 s → 0.24 s after the first word), and it costs less CPU.
"""

from __future__ import annotations

import audioop  # deprecated in 3.13; pipecat itself uses it (audioop-lts there)
import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from loguru import logger

from agent.graph.build import BuildContext, NodeBuild, ProcessCache
from agent.graph.registry import SAMPLE_RATE
from agent.nodes.params import SileroVADParams

_SESSION_KEY = ("silero_vad", "session")
_EXECUTOR_KEY = ("silero_vad", "executor")
_BATCHER_KEY = ("silero_vad", "batcher")


def shared_executor(shared: ProcessCache) -> ThreadPoolExecutor:
    """The process-wide thread every call's Silero inference runs on."""
    return shared.get_or_create(
        _EXECUTOR_KEY, lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="silero")
    )


def shared_batcher(shared: ProcessCache):
    """The process-wide batcher that scores every call's windows (agent/nodes/silero_batch.py)."""

    def create():
        from agent.nodes.silero_batch import SileroBatcher

        return SileroBatcher(shared_silero_session(shared), shared_executor(shared), SAMPLE_RATE)

    return shared.get_or_create(_BATCHER_KEY, create)


def shared_silero_session(shared: ProcessCache):
    """The process-wide onnxruntime session of pipecat's bundled Silero model."""

    def create():
        from importlib import resources

        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1  # one core per inference: calls run side by side
        opts.intra_op_num_threads = 1
        path = resources.files("pipecat.audio.vad.data").joinpath("silero_vad.onnx")
        with resources.as_file(path) as model_file:
            return onnxruntime.InferenceSession(
                str(model_file), providers=["CPUExecutionProvider"], sess_options=opts
            )

    return shared.get_or_create(_SESSION_KEY, create)


def window_level(pcm: bytes) -> float:
    """RMS level of 16-bit PCM on pipecat's volume scale: -110 dB → 0, -10 dB → 1, clipped."""
    if not pcm:
        return 0.0
    # audioop's C loop: ~1 µs a window where numpy's float copy, mean and sqrt took ~10.
    rms = audioop.rms(pcm, 2) / 32768.0
    if rms <= 1e-6:
        return 0.0
    return min(1.0, max(0.0, (20.0 * math.log10(rms) + 110.0) / 100.0))


def make_analyzer(session, params, *, batcher=None):
    """A SileroVADAnalyzer with its own recurrent state over a shared session.

    With `batcher` (agent/nodes/silero_batch.py), windows are scored in batches with other
    calls' and quiet windows are not scored (module docstring); without, one window at a
    time on a thread of the analyzer's own, as pipecat does (the tests' reference).
    """
    from pipecat.audio.utils import exp_smoothing
    from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADAnalyzer

    def smoothed_level(pcm: bytes, previous: float) -> float:
        """A window's level smoothed with the previous one's (0.5), as the volume gate reads it."""
        return exp_smoothing(window_level(pcm), previous, 0.5)

    class SharedSessionSileroVADAnalyzer(SileroVADAnalyzer):
        def __init__(self):
            # Skip SileroVADAnalyzer.__init__ (it loads the model file); do the rest of it.
            VADAnalyzer.__init__(self, sample_rate=SAMPLE_RATE, params=params)
            model = SileroOnnxModel.__new__(SileroOnnxModel)
            model.session = session
            model.sample_rates = [8000, 16000]
            model.reset_states()
            self._model = model
            self._windows_since_reset = 0
            self._low_confidence_windows = 0
            # Batched: each window's (confidence, smoothed volume, scored?), read back in
            # order by pipecat's state machine through the two methods below.
            self._scored: deque[tuple[float, float, bool]] = deque()
            self._window_volume: float | None = None
            self.windows_skipped = 0  # quiet windows not scored
            if batcher is not None:
                self._executor.shutdown(wait=False)  # never started, never needed

        def _get_smoothed_volume(self, audio: bytes) -> float:
            if self._window_volume is not None:  # measured with the window's score
                volume, self._window_volume = self._window_volume, None
                return volume
            # pipecat measures BS.1770 loudness over a rolling 400 ms block, smoothed 0.2:
            # speech clears min_volume ~0.5 s after it starts, which made every barge-in
            # 0.5 s later. The level of this 32 ms window alone, on the same 0..1 scale
            # (-110..-10 dB), smoothed 0.5, clears it within two windows (see the module
            # docstring).
            return smoothed_level(audio, self._prev_volume)

        def voice_confidence(self, buffer) -> float:
            if not self._scored:
                return super().voice_confidence(buffer)
            # pipecat asks for the window's confidence, then for its volume.
            confidence, self._window_volume, scored = self._scored.popleft()
            if scored:  # the model never saw a skipped window: its state did not drift
                self._maybe_reset_model(confidence)
            return confidence

        async def analyze_audio(self, buffer: bytes):
            if len(self._vad_buffer) + len(buffer) < self._vad_frames_num_bytes:
                # Not a full window yet: nothing to infer, the state cannot change.
                self._vad_buffer += buffer
                return self._vad_state
            if batcher is None:
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
                scored = volume >= params.min_volume
                levels.append((volume, scored))
                if scored:
                    windows.append(window)
            try:
                scores = iter(await batcher.score(self._model, windows))
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
            if batcher is None:
                await super().cleanup()

    return SharedSessionSileroVADAnalyzer()


def build_vad(params: SileroVADParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from pipecat.audio.vad.vad_analyzer import VADParams
    from pipecat.processors.audio.vad_processor import VADProcessor

    analyzer = make_analyzer(
        shared_silero_session(ctx.shared),
        VADParams(
            confidence=params.confidence,
            start_secs=params.start_secs,
            stop_secs=params.stop_secs,
            min_volume=params.min_volume,
        ),
        batcher=shared_batcher(ctx.shared),
    )
    # Direct mode (pipecat's): each caller audio frame is analysed in the task that pushed it
    # (the transport's receive loop) instead of crossing a queue and a task of the VAD's own.
    return NodeBuild(processors=[VADProcessor(vad_analyzer=analyzer, enable_direct_mode=True)])

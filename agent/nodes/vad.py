"""Builder of `silero_vad`: pipecat's VADProcessor around a Silero analyzer at 8 kHz.

The Silero ONNX session is loaded once per process and shared: an inference session is
stateless between runs, and loading it (~70 ms) stalls the event loop for every other call.
What is per call is the model's recurrent state, so each call gets its own analyzer
(agent/adapters/silero.py) and state around the shared session.

Inference runs off the event loop, on one thread shared by every call, with every call's
waiting windows scored as one batch (agent/nodes/silero_batch.py): pipecat's one thread
per analyzer and one run per window cost the GIL and onnxruntime's fixed cost per run many
times over at many calls. A frame that does not complete a 32 ms window is buffered on the
loop; a window too quiet to pass the volume gate (`min_volume`) is not scored at all, since
a phone caller is silent or listening most of the time; the volume gate reads each
window's own level, so a barge-in opens it within two windows instead of ~0.5 s. Why and
the measurements: docs/decisions/silero-batching.md.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from agent.adapters.silero import SharedSessionSileroVADAnalyzer, window_level
from agent.graph.build import BuildContext, NodeBuild, ProcessCache
from agent.graph.registry import SAMPLE_RATE
from agent.nodes.params import SileroVADParams
from agent.nodes.silero_batch import SileroBatcher

__all__ = ["build_vad", "make_analyzer", "shared_batcher", "shared_silero_session", "window_level"]

_SESSION_KEY = ("silero_vad", "session")
_EXECUTOR_KEY = ("silero_vad", "executor")
_BATCHER_KEY = ("silero_vad", "batcher")


def shared_executor(shared: ProcessCache) -> ThreadPoolExecutor:
    """The process-wide thread every call's Silero inference runs on."""
    return shared.get_or_create(
        _EXECUTOR_KEY, lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="silero")
    )


def shared_batcher(shared: ProcessCache) -> SileroBatcher:
    """The process-wide batcher that scores every call's windows (agent/nodes/silero_batch.py)."""
    return shared.get_or_create(
        _BATCHER_KEY,
        lambda: SileroBatcher(shared_silero_session(shared), shared_executor(shared), SAMPLE_RATE),
    )


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


def make_analyzer(session, params, *, batcher=None) -> SharedSessionSileroVADAnalyzer:
    """A Silero analyzer with its own recurrent state over a shared session; with `batcher`,
    scored in batches with other calls' windows (agent/adapters/silero.py)."""
    return SharedSessionSileroVADAnalyzer(session, params, sample_rate=SAMPLE_RATE, batcher=batcher)


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

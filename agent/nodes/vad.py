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
from agent.graph.build import BuildContext, NodeBuild
from agent.graph.registry import SAMPLE_RATE
from agent.nodes.params import SileroVADParams
from agent.nodes.silero_batch import SileroBatcher

__all__ = ["build_vad", "make_analyzer", "shared_batcher", "shared_silero_session", "window_level"]

_SESSION_KEY = ("silero_vad", "session")
_EXECUTOR_KEY = ("silero_vad", "executor")
_BATCHER_KEY = ("silero_vad", "batcher")


def shared_executor(shared: dict) -> ThreadPoolExecutor:
    """The process-wide thread every call's Silero inference runs on."""
    if _EXECUTOR_KEY not in shared:
        shared[_EXECUTOR_KEY] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="silero")
    return shared[_EXECUTOR_KEY]


def shared_batcher(shared: dict) -> SileroBatcher:
    """The process-wide batcher that scores every call's windows (agent/nodes/silero_batch.py)."""
    if _BATCHER_KEY not in shared:
        shared[_BATCHER_KEY] = SileroBatcher(
            shared_silero_session(shared), shared_executor(shared), SAMPLE_RATE
        )
    return shared[_BATCHER_KEY]


def shared_silero_session(shared: dict):
    """The process-wide onnxruntime session of pipecat's bundled Silero model."""
    if _SESSION_KEY not in shared:
        from importlib import resources

        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1  # one core per inference: calls run side by side
        opts.intra_op_num_threads = 1
        path = resources.files("pipecat.audio.vad.data").joinpath("silero_vad.onnx")
        with resources.as_file(path) as model_file:
            shared[_SESSION_KEY] = onnxruntime.InferenceSession(
                str(model_file), providers=["CPUExecutionProvider"], sess_options=opts
            )
    return shared[_SESSION_KEY]


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

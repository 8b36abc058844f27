"""Builder of `silero_vad`: pipecat's VADProcessor around a Silero analyzer at 8 kHz.

The Silero ONNX session (~2 MB of weights, ~70 ms to load, and a stall of the event loop for
every other call while it loads) is created once per process and shared: an inference
session is stateless between runs. What is per call is the model's recurrent state, so each
call gets its own analyzer and state around the shared session.
"""

from __future__ import annotations

from agent.graph.build import BuildContext, NodeBuild
from agent.graph.registry import SAMPLE_RATE
from agent.nodes.params import SileroVADParams

_SESSION_KEY = ("silero_vad", "session")


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


def make_analyzer(session, params):
    """A SileroVADAnalyzer with its own recurrent state over a shared session."""
    from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADAnalyzer

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
    )
    return NodeBuild(processors=[VADProcessor(vad_analyzer=analyzer)])

"""Builder of `silero_vad`: pipecat's VADProcessor around a Silero analyzer at 8 kHz.

Each call gets its own analyzer: the Silero model keeps recurrent state per audio stream,
so sharing one across calls would mix callers up.
"""

from __future__ import annotations

from agent.graph.build import BuildContext, NodeBuild
from agent.graph.registry import SAMPLE_RATE
from agent.nodes.params import SileroVADParams


def build_vad(params: SileroVADParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADParams
    from pipecat.processors.audio.vad_processor import VADProcessor

    analyzer = SileroVADAnalyzer(
        sample_rate=SAMPLE_RATE,
        params=VADParams(
            confidence=params.confidence,
            start_secs=params.start_secs,
            stop_secs=params.stop_secs,
            min_volume=params.min_volume,
        ),
    )
    return NodeBuild(processors=[VADProcessor(vad_analyzer=analyzer)])

"""Builder of `audio_pacer`: processors.pacer.AudioPacer with the node's params."""

from __future__ import annotations

from agent.graph.build import BuildContext, NodeBuild
from agent.nodes.params import AudioPacerParams


def build_pacer(params: AudioPacerParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from processors.pacer import AudioPacer

    return NodeBuild(
        processors=[
            AudioPacer(
                lead_ms=params.lead_ms,
                mark_interval_ms=params.mark_interval_ms,
                mark_timeout_s=params.mark_timeout_s,
                read_ahead_ms=params.read_ahead_ms,
                name=node_name,
            )
        ]
    )

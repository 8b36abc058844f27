"""Builder of `cartesia_tts`: pipecat's Cartesia WebSocket TTS at CARTESIA_BASE_URL.

Raw pcm_s16le at the node's sample_rate (8000 by default, so the transport only has to
mu-law encode it). The voice defaults to CARTESIA_VOICE_ID.
"""

from __future__ import annotations

from agent.graph.build import BuildContext, NodeBuild
from agent.nodes.params import CartesiaTTSParams


def build_tts(params: CartesiaTTSParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from pipecat.services.cartesia.tts import CartesiaTTSService, GenerationConfig

    config = ctx.config
    api_key = config.require("CARTESIA_API_KEY", f"the cartesia_tts node '{node_name}'")
    settings = CartesiaTTSService.Settings(
        voice=params.voice or config.cartesia_voice_id,
        model=params.model,
        language=params.language,
        generation_config=GenerationConfig(speed=params.speed) if params.speed else None,
    )
    service = CartesiaTTSService(
        api_key=api_key.reveal(),
        url=f"{config.cartesia_base_url}/tts/websocket",
        sample_rate=params.sample_rate,
        encoding="pcm_s16le",
        container="raw",
        settings=settings,
    )
    return NodeBuild(processors=[service])

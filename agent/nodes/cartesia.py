"""Builder of `cartesia_tts`: pipecat's Cartesia WebSocket TTS at CARTESIA_BASE_URL.

Raw pcm_s16le at the node's sample_rate (8000 by default, so the transport only has to
mu-law encode it). The voice defaults to CARTESIA_VOICE_ID.

When Cartesia fails an utterance (an `error` message, or the socket dropping while a context
is speaking), pipecat reports the error and the rest of that utterance is silence. Our
subclass also sends a `TurnFailedFrame(stage="tts")` upstream, so the call controller plays
the graph's cached `fallback` phrase (no TTS needed); pipecat's own reconnect then serves the
next utterance. At most one report per REPORT_GAP_S: one failure often yields two errors
(the error, then "context completed with no audio").
"""

from __future__ import annotations

import asyncio
import functools

from agent.graph.build import BuildContext, NodeBuild
from agent.nodes.params import CartesiaTTSParams

REPORT_GAP_S = 5.0


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
    service = resilient_cartesia_class()(
        api_key=api_key.reveal(),
        url=f"{config.cartesia_base_url}/tts/websocket",
        sample_rate=params.sample_rate,
        encoding="pcm_s16le",
        container="raw",
        settings=settings,
    )
    return NodeBuild(processors=[service])


@functools.cache
def resilient_cartesia_class() -> type:
    """CartesiaTTSService that tells the call controller when an utterance is lost."""
    from pipecat.frames.frames import TTSStoppedFrame
    from pipecat.processors.frame_processor import FrameDirection
    from pipecat.services.cartesia.tts import CartesiaTTSService

    from processors.frames import TurnFailedFrame

    class ResilientCartesiaTTSService(CartesiaTTSService):
        _last_report = float("-inf")

        async def push_error(self, *args, **kwargs):
            await super().push_error(*args, **kwargs)
            await self._report_failure("provider_error")

        async def _receive_messages(self):
            try:
                await super()._receive_messages()
            finally:
                # The socket went down (pipecat reconnects after this): an utterance in
                # progress will never finish.
                if not self._disconnecting and self.has_active_audio_context():
                    context_id = self.get_active_audio_context_id()
                    await self.push_frame(TTSStoppedFrame(context_id=context_id))
                    self.reset_active_audio_context()
                    await self._report_failure("socket_dropped")

        async def _report_failure(self, reason: str) -> None:
            now = asyncio.get_running_loop().time()
            if now - self._last_report < REPORT_GAP_S:
                return
            self._last_report = now
            await self.push_frame(
                TurnFailedFrame(stage="tts", reason=reason), FrameDirection.UPSTREAM
            )

    return ResilientCartesiaTTSService

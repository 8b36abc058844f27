"""Builders of `deepgram_stt` (nova, streaming) and `deepgram_flux_stt` (Flux, /v2/listen).

Both send linear16 at 8 kHz (what the transport decodes Twilio's mu-law to) and tag the
request with the call's CallSid, which shows up in Deepgram's usage reports and lets our
Deepgram fake pick a per-call script. Both connect to DEEPGRAM_BASE_URL, so tests and
self-hosters can point them anywhere.

Every Deepgram SDK client builds its own httpx client, and with it a TLS context: ~20 ms of
blocking CPU per call (the event loop stalls for every other call meanwhile), for an HTTP
client that live transcription over the WebSocket never uses. `_share_sdk_http_client`
makes the SDK's default client a process-wide one.
"""

from __future__ import annotations

from urllib.parse import urlparse

from agent.graph.build import BuildContext, NodeBuild
from agent.graph.registry import SAMPLE_RATE
from agent.nodes.params import DeepgramFluxSTTParams, DeepgramSTTParams


def _api_key(ctx: BuildContext, node_name: str, type_name: str) -> str:
    return ctx.config.require("DEEPGRAM_API_KEY", f"the {type_name} node '{node_name}'").reveal()


_shared_http_client = None


def _share_sdk_http_client() -> None:
    """Make the Deepgram SDK reuse one httpx client per process instead of one per call."""
    from deepgram import base_client

    if getattr(base_client, "_switchboard_shared", False):
        return
    original = base_client._make_default_async_client

    def shared_client(timeout, follow_redirects):
        global _shared_http_client
        if _shared_http_client is None:
            _shared_http_client = original(timeout, follow_redirects)
        return _shared_http_client

    base_client._make_default_async_client = shared_client
    base_client._switchboard_shared = True


def build_stt(params: DeepgramSTTParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from pipecat.services.deepgram.stt import DeepgramSTTService

    _share_sdk_http_client()

    settings = DeepgramSTTService.Settings(
        model=params.model,
        language=params.language,
        interim_results=True,  # interims keep the turn open while the caller is mid-sentence
        smart_format=params.smart_format,
        punctuate=True,
        endpointing=params.endpointing_ms,
        utterance_end_ms=params.utterance_end_ms,
        keyterm=list(params.keyterms) or None,
        # Speech start/stop comes from the silero_vad node; Deepgram's own would be a
        # second opinion nobody reads.
        extra={"vad_events": False},
    )
    service = DeepgramSTTService(
        api_key=_api_key(ctx, node_name, "deepgram_stt"),
        base_url=ctx.config.deepgram_base_url,
        encoding="linear16",
        channels=1,
        sample_rate=SAMPLE_RATE,
        tag=ctx.call.call_sid,
        settings=settings,
    )
    return NodeBuild(processors=[service])


def flux_url(base_url: str) -> str:
    """DEEPGRAM_BASE_URL → the Flux socket: ws(s)://host[:port][/prefix]/v2/listen."""
    parsed = urlparse(base_url)
    scheme = {"https": "wss", "http": "ws"}.get(parsed.scheme, parsed.scheme)
    return f"{scheme}://{parsed.netloc}{parsed.path.rstrip('/')}/v2/listen"


def build_flux_stt(params: DeepgramFluxSTTParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from pipecat.services.deepgram.flux.stt import DeepgramFluxSTTService

    _share_sdk_http_client()

    settings = DeepgramFluxSTTService.Settings(
        model=params.model,
        eot_threshold=params.eot_threshold,
        eot_timeout_ms=params.eot_timeout_ms,
        keyterm=list(params.keyterms),
    )
    service = DeepgramFluxSTTService(
        api_key=_api_key(ctx, node_name, "deepgram_flux_stt"),
        url=flux_url(ctx.config.deepgram_base_url),
        sample_rate=SAMPLE_RATE,
        flux_encoding="linear16",
        tag=[ctx.call.call_sid],
        # Flux proposes turn starts/ends; the groq_llm node's user aggregator resolves them
        # with ExternalUserTurnStrategies (see agent/nodes/groq.py), interrupting the bot
        # when the caller starts a turn.
        should_interrupt=True,
        settings=settings,
    )
    return NodeBuild(processors=[service])

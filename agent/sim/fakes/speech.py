"""Pieces shared by the two Deepgram fakes (live ``/v1/listen`` and Flux ``/v2/listen``).

- :class:`ScriptBook` / :class:`ScriptCursor`: what the fake "hears". Tests
  script the transcripts; the audio only decides *when* an utterance starts
  and ends. Scripts can be keyed by the Deepgram ``tag`` query parameter so
  concurrent calls (our app tags each connection with the Twilio CallSid) each
  get their own lines.
- :class:`Segmenter`: energy-based speech detection on 20 ms windows, timed by
  the *audio clock* (seconds of audio received), not the wall clock. Like the
  real service, endpointing is measured in audio, so a test that streams audio
  faster than real time gets its transcripts sooner, deterministically.
- :class:`Outbox`: one sender per socket, so a delayed final (``final_latency_s``)
  can never be overtaken by a later message.
- :class:`ListenFake`: settings, records and handshake checks both fakes share.
- handshake helpers: Deepgram-style refusals (HTTP status plus ``dg-error``
  header, which pipecat reads to explain the refusal).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from aiohttp import web

from .synth import decode, rms


@dataclass
class ScriptBook:
    """Transcripts to hand out, per tag, each connection starting from the first line."""

    default: list[str] = field(default_factory=list)
    by_tag: dict[str, list[str]] = field(default_factory=dict)

    def set(self, lines: list[str], tag: str | None = None) -> None:
        if tag is None:
            self.default = list(lines)
        else:
            self.by_tag[tag] = list(lines)

    def lines_for(self, tags: list[str]) -> list[str]:
        for tag in tags:
            if tag in self.by_tag:
                return self.by_tag[tag]
        return self.default


class ScriptCursor:
    """A connection's position in its script.

    The lines are looked up on every read, so ``set_script`` called after a
    connection opened (tests often script after the service has connected)
    still applies to it.
    """

    def __init__(self, book: ScriptBook, tags: list[str], fallback: Callable[[], str]):
        self._book = book
        self._tags = tags
        self._fallback = fallback
        self.index = 0

    def peek(self) -> str:
        lines = self._book.lines_for(self._tags)
        return lines[self.index] if self.index < len(lines) else self._fallback()

    def take(self) -> str:
        line = self.peek()
        self.index += 1
        return line


@dataclass
class Window:
    """One analysis window: when it ended on the audio clock, and whether it was voiced."""

    end_s: float
    voiced: bool
    started: bool = False  # this window started a speech segment


class Segmenter:
    """Energy-based voice activity on fixed windows, timed by the audio received.

    ``push`` returns the analysed windows; the protocol handlers turn them into
    provider messages. A speech segment starts once ``min_speech_ms`` of voiced
    windows run back to back (so a click doesn't count) and lasts until the
    handler calls :meth:`end`. After ``end(hold=True)`` (an utterance flushed
    early by ``Finalize``) a new segment needs ``resume_silence_ms`` of silence
    first, so the tail of the same phrase isn't heard as a new utterance.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        encoding: str,
        channels: int = 1,
        threshold_rms: float,
        window_ms: int = 20,
        min_speech_ms: int = 60,
        resume_silence_ms: int = 100,
    ):
        self.sample_rate = sample_rate
        self.encoding = encoding
        self.channels = max(channels, 1)
        self.threshold_rms = threshold_rms
        self.window = max(int(sample_rate * window_ms / 1000), 1)
        self.min_speech_s = min_speech_ms / 1000.0
        self.resume_silence_s = resume_silence_ms / 1000.0
        self.clock_s = 0.0
        self.in_speech = False
        self.start_s = 0.0
        self.last_voice_s = 0.0
        self._run_start: float | None = None
        self._held = False
        self._silence_since = 0.0
        self._pending = np.zeros(0, dtype=np.int16)
        self._odd = b""

    def push(self, data: bytes) -> Iterator[Window]:
        """Analyse ``data`` window by window.

        A generator on purpose: the state (``in_speech``, ``clock_s``, ...) a
        handler reads while handling a window must be the state *at* that
        window, even when one message carries seconds of audio.
        """
        samples = self._samples(data)
        if samples.size:
            self._pending = np.concatenate([self._pending, samples])
        while self._pending.size >= self.window:
            chunk, self._pending = self._pending[: self.window], self._pending[self.window :]
            yield self._analyse(chunk)

    def end(self, hold: bool = False) -> None:
        """Close the current segment (the handler has finalized it)."""
        self.in_speech = False
        self._run_start = None
        self._held = hold
        self._silence_since = self.clock_s

    @property
    def silent_for_s(self) -> float:
        return self.clock_s - self.last_voice_s

    def _analyse(self, chunk: np.ndarray) -> Window:
        start = self.clock_s
        self.clock_s += len(chunk) / self.sample_rate
        voiced = rms(chunk) >= self.threshold_rms
        if voiced:
            if self._held and self.clock_s - self._silence_since < self.resume_silence_s:
                self._silence_since = self.clock_s  # still the flushed phrase
                return Window(self.clock_s, True)
            self._held = False
            self.last_voice_s = self.clock_s
            if not self.in_speech:
                self._run_start = start if self._run_start is None else self._run_start
                if self.clock_s - self._run_start >= self.min_speech_s - 1e-9:
                    self.in_speech, self.start_s = True, self._run_start
                    return Window(self.clock_s, True, started=True)
        else:
            self._run_start = None
        return Window(self.clock_s, voiced)

    def _samples(self, data: bytes) -> np.ndarray:
        if self.encoding == "linear16":
            data, self._odd = self._odd + data, b""
            if len(data) % 2:
                data, self._odd = data[:-1], data[-1:]
        samples = decode(data, self.encoding)
        if self.channels > 1:
            usable = samples.size // self.channels * self.channels
            frames = samples[:usable].reshape(-1, self.channels).astype(np.int32)
            samples = np.max(np.abs(frames), axis=1).astype(np.int16)  # loudest channel
        return samples


class Outbox:
    """Sends JSON messages in order, each no earlier than its requested delay."""

    def __init__(self, ws: web.WebSocketResponse, record: list[dict]):
        self._ws = ws
        self._record = record
        self._queue: asyncio.Queue[tuple[float, dict | None]] = asyncio.Queue()
        self._last_due = 0.0
        self._task = asyncio.create_task(self._run())

    def put(self, message: dict, delay_s: float = 0.0) -> None:
        due = max(asyncio.get_running_loop().time() + delay_s, self._last_due)
        self._last_due = due
        self._queue.put_nowait((due, message))

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until everything queued so far has been sent (or dropped)."""
        done = asyncio.Event()
        self._queue.put_nowait((self._last_due, {"_drained": done}))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout_s)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, message = await self._queue.get()
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            if "_drained" in message:
                message["_drained"].set()
                continue
            if self._ws.closed:
                continue
            try:
                await self._ws.send_str(json.dumps(message))
                self._record.append(message)
            except (ConnectionError, RuntimeError):
                pass  # the client went away; what it missed is simply not recorded


def timed_words(transcript: str, start: float, end: float) -> list[tuple[str, float, float]]:
    """Spread the words of ``transcript`` evenly over [start, end] (seconds of audio)."""
    words = transcript.split()
    step = max(end - start, 0.0) / len(words) if words else 0.0
    return [
        (w, round(start + i * step, 3), round(start + (i + 1) * step, 3))
        for i, w in enumerate(words)
    ]


def parse_control(text: str) -> dict:
    """A client text message as a dict; junk becomes ``{"type": None, "raw": text}``
    (recorded, otherwise ignored) rather than an exception that kills the socket."""
    try:
        message = json.loads(text)
    except ValueError:
        message = None
    return message if isinstance(message, dict) else {"type": None, "raw": text}


def new_request_id() -> str:
    return str(uuid.uuid4())


def deepgram_api_key(request: web.Request) -> str:
    """The key the client presented: ``Authorization: Token|Bearer KEY`` or the
    ``Sec-WebSocket-Protocol: token, KEY`` form browsers use."""
    auth = request.headers.get("Authorization", "")
    scheme, _, key = auth.partition(" ")
    if scheme.lower() in ("token", "bearer") and key.strip():
        return key.strip()
    protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if len(protocols) == 2 and protocols[0].lower() == "token":
        return protocols[1]
    return ""


def deepgram_refusal(status: int, reason: str, request_id: str) -> web.Response:
    """A handshake refusal shaped like Deepgram's (JSON body + ``dg-error`` header)."""
    codes = {400: "Bad Request", 401: "INVALID_AUTH", 429: "TOO_MANY_REQUESTS"}
    body = {
        "err_code": codes.get(status, "INTERNAL_SERVER_ERROR"),
        "err_msg": reason,
        "request_id": request_id,
    }
    headers = {"dg-error": reason, "dg-request-id": request_id}
    return web.json_response(body, status=status, headers=headers)


def abort_connection(request: web.Request) -> None:
    """Drop the TCP connection without a WebSocket close frame (a network failure)."""
    transport = request.transport
    if transport is not None:
        transport.abort()


@dataclass
class ListenConnection:
    """What one listen connection (v1 or Flux v2) sent and received, for assertions."""

    request_id: str
    query: dict[str, str]
    query_items: list[tuple[str, str]]
    api_key: str
    audio: bytearray = field(default_factory=bytearray)
    received: list[dict] = field(default_factory=list)  # control messages (KeepAlive, ...)
    sent: list[dict] = field(default_factory=list)  # every JSON message the fake sent
    closed_by: str | None = None  # "client", "CloseStream", "drop", "server"

    @property
    def bytes_received(self) -> int:
        return len(self.audio)


@dataclass(eq=False)  # a running service: compared and hashed by identity
class ListenFake:
    """Settings and records common to both Deepgram fakes (change settings at any time)."""

    expected_key: str | None = None  # None: any non-empty key is accepted
    fallback_transcript: str = "hello"  # said once the script runs out
    final_latency_s: float = 0.0  # wall-clock delay before each final result
    threshold_rms: float = 300.0  # int16 RMS above which a 20 ms window is speech
    window_ms: int = 20
    min_speech_ms: int = 60
    words_per_second: float = 3.0  # how fast interim transcripts grow
    refuse_connections: int = 0  # refuse the next N handshakes...
    refuse_status: int = 503  # ...with this HTTP status
    drop_after_s: float | None = None  # abort every connection after this long
    connections: list = field(default_factory=list)
    refused: int = 0
    script: ScriptBook = field(default_factory=ScriptBook, repr=False)
    _live: set = field(default_factory=set, repr=False)

    def set_script(self, lines: list[str], tag: str | None = None) -> None:
        """Transcripts for each connection in order; ``tag`` scopes them to connections
        whose ``tag`` query parameter matches (e.g. a CallSid)."""
        self.script.set(lines, tag)

    @property
    def connection_count(self) -> int:
        return len(self.connections)

    def drop_random_connection(self) -> bool:
        """Abort one live connection (no close frame), as a network failure would; False if
        none is live. For soak runs: `drop_after_s` hits every connection."""
        import random

        live = [ws for ws in self._live if not ws.closed]
        if not live:
            return False
        request = getattr(random.choice(live), "_req", None)
        if request is None or request.transport is None:
            return False
        request.transport.abort()
        return True

    async def shutdown(self) -> None:
        for ws in list(self._live):
            await ws.close(code=1001, message=b"server shutting down")

    def check_handshake(self, request_id: str, key: str | None, bad_request: str | None = None):
        """A Deepgram-style refusal, else None: a bad key (401), then `bad_request` (400),
        then an injected fault."""
        if not key or (self.expected_key is not None and key != self.expected_key):
            return deepgram_refusal(401, "Invalid credentials.", request_id)
        if bad_request:
            return deepgram_refusal(400, bad_request, request_id)
        if self.refuse_connections > 0:
            self.refuse_connections -= 1
            self.refused += 1
            return deepgram_refusal(
                self.refuse_status, "Service unavailable (fault injected).", request_id
            )
        return None

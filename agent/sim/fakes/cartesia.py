"""Fake Cartesia TTS: the ``/tts/websocket`` endpoint (API version 2026-03-01).

Speaks what pipecat's ``CartesiaTTSService`` uses. The handshake carries
``X-API-Key`` and ``Cartesia-Version`` headers (``api_key`` /
``cartesia_version`` query parameters also work, as on the real service).
Each JSON request names a ``context_id``; pipecat sends one per sentence with
``continue: true`` and ends the context with an empty transcript and
``continue: false``. Answers per context, in order: ``timestamps``
(``word_timestamps`` with ``words``/``start``/``end`` in seconds from the start
of the context) and ``chunk`` messages (base64 ``data``, ``done: false``,
``status_code: 206``, ``step_time``), then ``done`` once the context is closed
and all its audio sent. ``{"context_id", "cancel": true}`` stops a context
with no further messages. Errors are ``{"type": "error", "done": true, ...}``.

The audio is :func:`.synth.synth_speech` in the requested encoding and rate,
so it is real, deterministic, and exactly what :attr:`CartesiaFake.audio_by_context`
records as sent.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from .speech import abort_connection
from .synth import VoiceParams, encode, speech_duration_s, synth_speech

__all__ = ["CartesiaContext", "CartesiaFake"]

_ENCODINGS = ("pcm_s16le", "pcm_mulaw", "pcm_f32le")
_BYTES_PER_SAMPLE = {"pcm_s16le": 2, "pcm_mulaw": 1, "pcm_f32le": 4}
_END = object()  # queued after the last transcript of a context


class _Gone(Exception):
    """The socket is closed (or was just dropped on purpose): stop producing audio."""


@dataclass
class CartesiaContext:
    """One generation context as the fake saw it."""

    context_id: str
    output_format: dict
    transcripts: list[str] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)  # exactly the bytes sent
    chunks_sent: int = 0
    done: bool = False
    cancelled: bool = False
    error: str | None = None
    requested_at: float = 0.0  # the event loop's time of its first message (bench/turns.py)
    transcript_times: list[float] = field(default_factory=list)  # ... of each transcript
    first_audio_at: float | None = None  # ... and of its first audio chunk


@dataclass(eq=False)  # a running service: compared and hashed by identity
class CartesiaFake:
    """Settings (change them at any time) and records of the fake Cartesia TTS."""

    expected_key: str | None = None  # None: any non-empty key is accepted
    voice: VoiceParams = field(default_factory=VoiceParams)
    chunk_ms: int = 20  # audio per chunk message
    pacing: float = 0.0  # 0: as fast as possible; 1.0: real time; 2.0: twice real time
    first_audio_latency_s: float = 0.0  # per context, before its first chunk
    error_next: int = 0  # answer the next N generation requests with an error
    drop_after_chunks: int | None = None  # abort each connection after N chunks
    requests: list[dict] = field(default_factory=list)  # every JSON message received
    contexts: dict[str, CartesiaContext] = field(default_factory=dict)
    handshakes: list[dict] = field(default_factory=list)  # version / key seen per connection
    _live: set = field(default_factory=set, repr=False)

    @property
    def audio_by_context(self) -> dict[str, bytes]:
        return {cid: bytes(ctx.audio) for cid, ctx in self.contexts.items()}

    def transcripts_by_context(self) -> dict[str, str]:
        """The text each context was asked to speak (its transcripts joined)."""
        return {cid: "".join(ctx.transcripts) for cid, ctx in self.contexts.items()}

    @property
    def connection_count(self) -> int:
        return len(self.handshakes)

    @property
    def cancelled(self) -> list[str]:
        return [cid for cid, ctx in self.contexts.items() if ctx.cancelled]

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/tts/websocket", self.handle)

    async def shutdown(self) -> None:
        for ws in list(self._live):
            await ws.close(code=1001, message=b"server shutting down")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = request.headers.get("X-API-Key") or request.query.get("api_key", "")
        version = request.headers.get("Cartesia-Version") or request.query.get("cartesia_version")
        if not key or (self.expected_key is not None and key != self.expected_key):
            return web.json_response({"error": "Invalid API key"}, status=401)
        if not version:
            return web.json_response({"error": "Cartesia-Version header is required"}, status=400)
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.handshakes.append({"version": version, "api_key": key})
        self._live.add(ws)
        session = _Session(self, ws, request)
        try:
            await session.run()
        finally:
            self._live.discard(ws)
            await session.close()
        return ws


class _Session:
    """One socket: contexts run concurrently, each in its own ordered worker."""

    def __init__(self, fake: CartesiaFake, ws: web.WebSocketResponse, request: web.Request):
        self.fake, self.ws, self.request = fake, ws, request
        self.queues: dict[str, asyncio.Queue] = {}
        self.workers: dict[str, asyncio.Task] = {}
        self.chunks_sent = 0
        self.send_lock = asyncio.Lock()

    async def run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    message = json.loads(msg.data)
                except json.JSONDecodeError:
                    await self._send(_error("", 400, "invalid_request", "Message is not JSON."))
                    continue
                self.fake.requests.append(message)
                await self._on_request(message)
        except _Gone:
            pass  # the client left while we were answering

    async def close(self) -> None:
        for task in self.workers.values():
            task.cancel()
        await asyncio.gather(*self.workers.values(), return_exceptions=True)

    async def _on_request(self, message: dict) -> None:
        cid = str(message.get("context_id") or "")
        if message.get("cancel"):
            if cid in self.fake.contexts:
                self.fake.contexts[cid].cancelled = True
            if task := self.workers.pop(cid, None):
                task.cancel()
            self.queues.pop(cid, None)
            return
        ctx = self.fake.contexts.get(cid)
        if ctx is None:
            ctx = self.fake.contexts[cid] = CartesiaContext(
                cid, dict(message.get("output_format") or {})
            )
            ctx.requested_at = asyncio.get_running_loop().time()
        if ctx.done or ctx.cancelled or ctx.error:
            return  # Cartesia ignores input for a finished context
        problem = _validate(message)
        if problem is None and self.fake.error_next > 0:
            self.fake.error_next -= 1
            problem = (500, "internal_error", "Internal server error (fault injected).")
        if problem:
            ctx.error = problem[2]
            await self._send(_error(cid, *problem))
            return
        if cid not in self.queues:
            self.queues[cid] = asyncio.Queue()
            self.workers[cid] = asyncio.create_task(self._worker(ctx, self.queues[cid], message))
        if message.get("transcript"):
            ctx.transcripts.append(message["transcript"])
            ctx.transcript_times.append(asyncio.get_running_loop().time())
            self.queues[cid].put_nowait(message["transcript"])
        if not message.get("continue", False):
            self.queues[cid].put_nowait(_END)

    async def _worker(self, ctx: CartesiaContext, queue: asyncio.Queue, first: dict) -> None:
        fmt = first["output_format"]
        encoding, rate = fmt["encoding"], int(fmt["sample_rate"])
        timestamps = bool(first.get("add_timestamps"))
        offset_s = 0.0  # where the next transcript starts within the context
        started = False
        try:
            while (item := await queue.get()) is not _END:
                if not started and self.fake.first_audio_latency_s:
                    await asyncio.sleep(self.fake.first_audio_latency_s)
                started = True
                if ctx.first_audio_at is None:
                    ctx.first_audio_at = asyncio.get_running_loop().time()
                if timestamps:
                    await self._send(_timestamps(ctx.context_id, item, offset_s, self.fake.voice))
                audio = encode(synth_speech(item, rate, self.fake.voice), encoding)
                offset_s += speech_duration_s(item, self.fake.voice)
                step = max(int(rate * self.fake.chunk_ms / 1000), 1) * _BYTES_PER_SAMPLE[encoding]
                for i in range(0, len(audio), step):
                    await self._send_chunk(ctx, audio[i : i + step], rate, encoding)
            ctx.done = True
            done = {"type": "done", "done": True, "status_code": 206, "context_id": ctx.context_id}
            await self._send(done)
        except _Gone:
            pass
        finally:
            self.workers.pop(ctx.context_id, None)
            self.queues.pop(ctx.context_id, None)

    async def _send_chunk(
        self, ctx: CartesiaContext, data: bytes, rate: int, encoding: str
    ) -> None:
        if self.fake.pacing > 0:
            await asyncio.sleep(len(data) / _BYTES_PER_SAMPLE[encoding] / rate / self.fake.pacing)
        await self._send(
            {
                "type": "chunk",
                "data": base64.b64encode(data).decode(),
                "done": False,
                "status_code": 206,
                "step_time": 12.5,
                "context_id": ctx.context_id,
            }
        )
        ctx.audio.extend(data)
        ctx.chunks_sent += 1
        self.chunks_sent += 1
        limit = self.fake.drop_after_chunks
        if limit is not None and self.chunks_sent >= limit:
            abort_connection(self.request)
            raise _Gone  # this context ends here, mid-utterance

    async def _send(self, message: dict) -> None:
        async with self.send_lock:
            if self.ws.closed:
                raise _Gone
            try:
                await self.ws.send_str(json.dumps(message))
            except (ConnectionError, RuntimeError) as e:
                raise _Gone from e


def _error(cid: str, status: int, code: str, text: str) -> dict:
    """An error message in both the 2024-11-13 (``error``) and 2026-03-01
    (``title``/``message``/``error_code``) shapes."""
    title = code.replace("_", " ").capitalize()
    return {
        "type": "error", "done": True, "status_code": status, "error": text,
        "title": title, "message": text, "error_code": code, "context_id": cid,
    }  # fmt: skip


def _validate(message: dict) -> tuple[int, str, str] | None:
    """A Cartesia-style (status, error_code, message) for a bad request, else None."""
    if not message.get("context_id"):
        return 400, "invalid_request", "context_id is required."
    if not message.get("model_id"):
        return 400, "model_not_found", "The model is not valid, make sure it is a valid model ID."
    voice = message.get("voice") or {}
    if voice.get("mode") == "id" and not voice.get("id"):
        return 400, "voice_not_found", "A voice id is required."
    fmt = message.get("output_format") or {}
    if fmt.get("container") != "raw" or fmt.get("encoding") not in _ENCODINGS:
        return 400, "invalid_output_format", f"Unsupported output format {fmt}."
    if not isinstance(fmt.get("sample_rate"), int) or fmt["sample_rate"] <= 0:
        return 400, "invalid_output_format", "sample_rate must be a positive integer."
    return None


def _timestamps(cid: str, text: str, offset_s: float, voice: VoiceParams) -> dict:
    """Word timings that match the synthesized audio (each character lasts ms_per_char)."""
    words, starts, ends = [], [], []
    per_char = voice.ms_per_char / 1000.0
    position = 0
    for word in text.split():
        position = text.index(word, position)
        words.append(word)
        starts.append(round(offset_s + position * per_char, 3))
        position += len(word)
        ends.append(round(offset_s + position * per_char, 3))
    return {
        "type": "timestamps",
        "done": False,
        "status_code": 206,
        "context_id": cid,
        "word_timestamps": {"words": words, "start": starts, "end": ends},
    }

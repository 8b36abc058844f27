"""Fake Deepgram Flux: the ``/v2/listen`` conversational-STT WebSocket.

Speaks what pipecat's ``DeepgramFluxSTTService`` expects: ``Connected`` first
(pipecat waits for it before treating the socket as usable), then ``TurnInfo``
messages whose ``event`` is ``StartOfTurn``, ``Update``, ``EagerEndOfTurn``,
``TurnResumed`` or ``EndOfTurn``; ``Configure`` is acknowledged with
``ConfigureSuccess``; ``CloseStream`` ends the stream; a fatal problem is an
``Error`` message. Every server message carries an increasing ``sequence_id``.

Turn detection uses the same energy segmentation and scripts as the live
fake (see :mod:`.speech`): a turn starts with speech, ``Update`` grows the
transcript while it lasts, ``eot_silence_ms`` of silence ends it with the next
script line. When the client asks for eager end-of-turn (an
``eager_eot_threshold`` query parameter), ``EagerEndOfTurn`` comes after
``eager_silence_ms`` and ``TurnResumed`` if speech comes back before the end.
Flux refuses bad settings at the handshake with HTTP 400 and a ``dg-error``
header; this fake does that for a model that isn't a Flux model.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from .speech import (
    ListenConnection,
    ListenFake,
    Outbox,
    ScriptCursor,
    Segmenter,
    abort_connection,
    deepgram_api_key,
    new_request_id,
    parse_control,
    timed_words,
)

__all__ = ["DeepgramFluxFake", "FluxConnection"]


@dataclass
class FluxConnection(ListenConnection):
    """What one ``/v2/listen`` connection sent and received."""

    def events(self) -> list[str]:
        """The TurnInfo events sent, in order."""
        return [m["event"] for m in self.sent if m.get("type") == "TurnInfo"]

    @property
    def finals(self) -> list[str]:
        return [m["transcript"] for m in self.sent if m.get("event") == "EndOfTurn"]


@dataclass(eq=False)  # a running service: compared and hashed by identity
class DeepgramFluxFake(ListenFake):
    """Settings (change them at any time) and records of the fake ``/v2/listen``.

    ``final_latency_s`` delays EagerEndOfTurn / EndOfTurn.
    """

    eot_silence_ms: int = 300  # silence that ends a turn
    eager_silence_ms: int = 150  # silence that predicts the end (eager mode only)
    update_interval_ms: int = 240  # Flux reports on 240 ms of audio at a time
    error_after_s: float | None = None  # send a fatal Error, then close, this long in

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v2/listen", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = new_request_id()
        key = deepgram_api_key(request)
        flux_model = request.query.get("model", "").startswith("flux")
        refusal = self.check_handshake(
            request_id, key, None if flux_model else "Invalid model for /v2/listen."
        )
        if refusal is not None:
            return refusal

        ws = web.WebSocketResponse(heartbeat=None)
        ws.headers["dg-request-id"] = request_id
        await ws.prepare(request)
        conn = FluxConnection(request_id, dict(request.query), list(request.query.items()), key)
        self.connections.append(conn)
        self._live.add(ws)
        session = _FluxSession(self, conn, ws, request)
        try:
            await session.run()
        finally:
            self._live.discard(ws)
            await session.outbox.close()
        return ws


class _FluxSession:
    def __init__(self, fake: DeepgramFluxFake, conn: FluxConnection, ws, request: web.Request):
        self.fake, self.conn, self.ws, self.request = fake, conn, ws, request
        self.outbox = Outbox(ws, conn.sent)
        self.seq = 0
        self.eager = "eager_eot_threshold" in conn.query
        tags = request.query.getall("tag", [])
        self.cursor = ScriptCursor(fake.script, tags, lambda: fake.fallback_transcript)
        self.seg = Segmenter(
            sample_rate=int(conn.query.get("sample_rate", "16000")),
            encoding=conn.query.get("encoding", "linear16"),
            threshold_rms=fake.threshold_rms,
            window_ms=fake.window_ms,
            min_speech_ms=fake.min_speech_ms,
        )
        self.turn_index = 0
        self.last_update_s = 0.0
        self.eager_sent = False

    async def run(self) -> None:
        self._send({"type": "Connected", "request_id": self.conn.request_id})
        faults = []
        if self.fake.drop_after_s is not None:
            faults.append(asyncio.create_task(self._drop_after(self.fake.drop_after_s)))
        if self.fake.error_after_s is not None:
            faults.append(asyncio.create_task(self._error_after(self.fake.error_after_s)))
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.BINARY:
                    self.conn.audio.extend(msg.data)
                    self._on_audio(msg.data)
                elif msg.type == WSMsgType.TEXT and await self._on_control(parse_control(msg.data)):
                    return
            self.conn.closed_by = self.conn.closed_by or "client"
        finally:
            for task in faults:
                task.cancel()

    async def _drop_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.conn.closed_by = "drop"
        abort_connection(self.request)

    async def _error_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._send(
            {"type": "Error", "code": "INTERNAL_SERVER_ERROR", "description": "fault injected"}
        )
        await self.outbox.drain()
        self.conn.closed_by = "server"
        await self.ws.close(code=1011, message=b"internal error")

    def _send(self, message: dict, delay_s: float = 0.0) -> None:
        message["sequence_id"] = self.seq
        self.seq += 1
        self.outbox.put(message, delay_s)

    def _on_audio(self, data: bytes) -> None:
        for w in self.seg.push(data):
            if w.started:
                self.last_update_s = self.seg.start_s
                self.eager_sent = False
                self._turn_info("StartOfTurn", self._partial(w.end_s), w.end_s, 0.0)
            elif w.voiced and self.seg.in_speech:
                if self.eager_sent:  # speech came back after a predicted end
                    self.eager_sent = False
                    self._turn_info("TurnResumed", self._partial(w.end_s), w.end_s, 0.05)
                if w.end_s - self.last_update_s >= self.fake.update_interval_ms / 1000.0:
                    self.last_update_s = w.end_s
                    self._turn_info("Update", self._partial(w.end_s), w.end_s, 0.05)
            elif not w.voiced and self.seg.in_speech:
                silent = self.seg.silent_for_s
                if silent >= self.fake.eot_silence_ms / 1000.0:
                    self._end_turn("model")
                elif (
                    self.eager
                    and not self.eager_sent
                    and silent >= self.fake.eager_silence_ms / 1000.0
                ):
                    self.eager_sent = True
                    end = self.seg.last_voice_s
                    self._turn_info(
                        "EagerEndOfTurn", self.cursor.peek(), end, 0.6, self.fake.final_latency_s
                    )

    def _end_turn(self, trigger: str) -> None:
        end = self.seg.last_voice_s
        self.seg.end()
        self._turn_info(
            "EndOfTurn", self.cursor.take(), end, 0.9, self.fake.final_latency_s, trigger
        )
        self.turn_index += 1

    def _partial(self, now: float) -> str:
        words = self.cursor.peek().split()
        count = max(1, int((now - self.seg.start_s) * self.fake.words_per_second))
        return " ".join(words[:count])

    def _turn_info(
        self,
        event: str,
        transcript: str,
        end: float,
        eot_confidence: float,
        delay_s: float = 0.0,
        trigger: str | None = None,
    ) -> None:
        start = self.seg.start_s
        message = {
            "type": "TurnInfo",
            "request_id": self.conn.request_id,
            "event": event,
            "turn_index": self.turn_index,
            "audio_window_start": round(start, 3),
            "audio_window_end": round(end, 3),
            "transcript": transcript,
            "words": [
                {"word": w, "confidence": 0.99, "start": w_start, "end": w_end}
                for w, w_start, w_end in timed_words(transcript, start, end)
            ],
            "end_of_turn_confidence": eot_confidence,
        }
        if trigger:
            message["trigger"] = trigger  # present on EndOfTurn only
        self._send(message, delay_s)

    async def _on_control(self, message: dict) -> bool:
        self.conn.received.append(message)
        kind = message.get("type")
        if kind == "Configure":
            thresholds = message.get("thresholds", {})
            self._send(
                {
                    "type": "ConfigureSuccess",
                    "request_id": self.conn.request_id,
                    "thresholds": thresholds,
                    "keyterms": message.get("keyterms", []),
                }
            )
        elif kind == "CloseStream":
            if self.seg.in_speech:
                self._end_turn("model")
            await self.outbox.drain()
            self.conn.closed_by = "CloseStream"
            await self.ws.close()
            return True
        return False

"""Fake Deepgram live transcription: the ``/v1/listen`` WebSocket.

Speaks the protocol deepgram-sdk's ``listen.v1.connect`` (and so pipecat's
``DeepgramSTTService``) uses: options in the query string, ``Authorization:
Token KEY`` on the handshake, binary audio in, JSON ``Results`` /
``SpeechStarted`` / ``UtteranceEnd`` / ``Metadata`` out, and the ``KeepAlive`` /
``Finalize`` / ``CloseStream`` control messages.

What is said comes from a script (:meth:`DeepgramFake.set_script`); when it is
said comes from the audio: speech starts when the energy rises, interim
results grow word by word while it lasts, and after ``endpointing`` ms of
silence (audio time) the next script line is sent as the final result, then
``UtteranceEnd`` once ``utterance_end_ms`` of silence has passed.

Real Deepgram defaults ``endpointing`` to 10 ms; this fake defaults to
``default_endpointing_ms`` (300) because an energy detector is not a speech
model and would otherwise split phrases at every pause.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

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

__all__ = ["DeepgramConnection", "DeepgramFake"]


@dataclass
class DeepgramConnection(ListenConnection):
    """What one ``/v1/listen`` connection sent and received (for assertions)."""

    @property
    def finals(self) -> list[str]:
        """Transcripts of the final results sent, in order."""
        return [
            m["channel"]["alternatives"][0]["transcript"]
            for m in self.sent
            if m.get("type") == "Results" and m.get("is_final")
        ]

    def messages(self, type_: str) -> list[dict]:
        return [m for m in self.sent if m.get("type") == type_]


@dataclass(eq=False)  # a running service: compared and hashed by identity
class DeepgramFake(ListenFake):
    """Settings (change them at any time) and records of the fake ``/v1/listen``."""

    default_endpointing_ms: int = 300  # when the client sends no `endpointing`
    resume_silence_ms: int = 100
    interim_interval_ms: int = 200  # audio time between interim results
    # Deepgram-like interims (bench/turns.py): after this much silence (audio time) following
    # speech, one more interim with every word of the line, as Deepgram's interim catches up
    # with the audio before any final; None: interims only grow at `words_per_second`.
    catch_up_interim_ms: int | None = None
    model_name: str = "2-general-nova"
    # Event-loop times (bench/turns.py's stages): each Finalize received (the server's VAD
    # stop), and each non-empty final result with the time it is due out (after its delay).
    finalize_times: list[float] = field(default_factory=list)
    final_times: list[tuple[float, str]] = field(default_factory=list)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/listen", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = new_request_id()
        key = deepgram_api_key(request)
        refusal = self.check_handshake(request_id, key)
        if refusal is not None:
            return refusal

        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        ws.headers["dg-request-id"] = request_id
        await ws.prepare(request)
        conn = DeepgramConnection(
            request_id=request_id,
            query=dict(request.query),
            query_items=list(request.query.items()),
            api_key=key,
        )
        self.connections.append(conn)
        self._live.add(ws)
        session = _Session(self, conn, ws, request)
        try:
            await session.run()
        finally:
            self._live.discard(ws)
            await session.outbox.close()
        return ws


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() == "true"


class _Session:
    """One connection's state machine: audio in, Deepgram messages out."""

    def __init__(self, fake: DeepgramFake, conn: DeepgramConnection, ws, request: web.Request):
        q = conn.query
        self.fake, self.conn, self.ws, self.request = fake, conn, ws, request
        self.outbox = Outbox(ws, conn.sent)
        self.encoding = q.get("encoding", "linear16")
        self.sample_rate = int(q.get("sample_rate", "16000"))
        endpointing = q.get("endpointing", str(fake.default_endpointing_ms)).lower()
        self.endpointing_s = None if endpointing == "false" else int(endpointing) / 1000.0
        self.utterance_end_s = (
            int(q["utterance_end_ms"]) / 1000.0 if "utterance_end_ms" in q else None
        )
        self.interim = _flag(q, "interim_results")
        self.vad_events = _flag(q, "vad_events")
        self.punctuate = _flag(q, "punctuate") or _flag(q, "smart_format")
        tags = request.query.getall("tag", [])
        self.cursor = ScriptCursor(fake.script, tags, lambda: fake.fallback_transcript)
        self.seg = Segmenter(
            sample_rate=self.sample_rate,
            encoding=self.encoding,
            channels=int(q.get("channels", "1")),
            threshold_rms=fake.threshold_rms,
            window_ms=fake.window_ms,
            min_speech_ms=fake.min_speech_ms,
            resume_silence_ms=fake.resume_silence_ms,
        )
        self.last_interim_s = 0.0
        self.caught_up = False  # the catch-up interim of this utterance was sent
        self.utterance_end_due: float | None = None  # audio time to send UtteranceEnd
        self.last_word_end = 0.0

    async def run(self) -> None:
        dropper = None
        if self.fake.drop_after_s is not None:
            dropper = asyncio.create_task(self._drop_after(self.fake.drop_after_s))
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.BINARY:
                    self.conn.audio.extend(msg.data)
                    self._on_audio(msg.data)
                elif msg.type == WSMsgType.TEXT and await self._on_control(parse_control(msg.data)):
                    return
            self.conn.closed_by = self.conn.closed_by or "client"
        finally:
            if dropper:
                dropper.cancel()

    async def _drop_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.conn.closed_by = "drop"
        abort_connection(self.request)

    def _on_audio(self, data: bytes) -> None:
        for window in self.seg.push(data):
            if window.started:
                self._on_speech_started()
            if window.voiced and self.seg.in_speech:
                self._on_voice(window.end_s)
            elif not window.voiced and self.seg.in_speech:
                self._on_silence()
            if self.utterance_end_due is not None and self.seg.clock_s >= self.utterance_end_due:
                self._send_utterance_end()

    def _on_speech_started(self) -> None:
        self.utterance_end_due = None  # speech resumed before the gap was long enough
        self.caught_up = False
        self.last_interim_s = self.seg.start_s
        if self.vad_events:
            start = round(self.seg.start_s, 3)
            self.outbox.put({"type": "SpeechStarted", "channel": [0], "timestamp": start})

    def _on_voice(self, now: float) -> None:
        if self.interim and now - self.last_interim_s >= self.fake.interim_interval_ms / 1000.0:
            self.last_interim_s = now
            words = self._text(self.cursor.peek()).split()
            count = max(1, int((now - self.seg.start_s) * self.fake.words_per_second))
            self._send_results(" ".join(words[:count]), self.seg.start_s, now, is_final=False)

    def _on_silence(self) -> None:
        silent = self.seg.silent_for_s
        catch_up = self.fake.catch_up_interim_ms
        if (
            self.interim
            and catch_up is not None
            and not self.caught_up
            and silent >= catch_up / 1000
        ):
            self.caught_up = True
            line = self._text(self.cursor.peek())
            self._send_results(line, self.seg.start_s, self.seg.last_voice_s, is_final=False)
        if self.endpointing_s is not None and silent >= self.endpointing_s:
            self._finalize(speech_final=True)
        elif self.endpointing_s is None and self.utterance_end_s and silent >= self.utterance_end_s:
            self._finalize(speech_final=False)

    def _finalize(
        self, *, speech_final: bool, from_finalize: bool = False, hold: bool = False
    ) -> None:
        """Send the next script line as the final result of the current utterance."""
        start, end = self.seg.start_s, self.seg.last_voice_s
        self.seg.end(hold=hold)
        self.last_word_end = end
        self._send_results(
            self._text(self.cursor.take()),
            start,
            end,
            is_final=True,
            speech_final=speech_final,
            from_finalize=from_finalize,
            delay_s=self.fake.final_latency_s,
        )
        if self.utterance_end_s is not None:
            self.utterance_end_due = end + self.utterance_end_s
            if self.seg.clock_s >= self.utterance_end_due:
                self._send_utterance_end()

    def _send_utterance_end(self) -> None:
        self.utterance_end_due = None
        self.outbox.put(
            {
                "type": "UtteranceEnd",
                "channel": [0, 1],
                "last_word_end": round(self.last_word_end, 3),
            }
        )

    async def _on_control(self, message: dict) -> bool:
        """Handle a JSON control message; True when the session is over."""
        self.conn.received.append(message)
        kind = message.get("type")
        if kind == "Finalize":
            self.fake.finalize_times.append(asyncio.get_running_loop().time())
            if self.seg.in_speech:
                self._finalize(speech_final=False, from_finalize=True, hold=True)
            else:  # nothing pending: Deepgram still answers, with an empty final
                now, delay = self.seg.clock_s, self.fake.final_latency_s
                self._send_results("", now, now, is_final=True, from_finalize=True, delay_s=delay)
        elif kind == "CloseStream":
            if self.seg.in_speech:
                self._finalize(speech_final=False)
            self.outbox.put(self._metadata())
            await self.outbox.drain()
            self.conn.closed_by = "CloseStream"
            await self.ws.close()
            return True
        return False  # KeepAlive and anything unknown: nothing to do

    def _text(self, line: str) -> str:
        if self.punctuate:
            return line
        return re.sub(r"[^\w\s']", "", line).lower()

    def _send_results(
        self,
        transcript: str,
        start: float,
        end: float,
        *,
        is_final: bool,
        speech_final: bool = False,
        from_finalize: bool = False,
        delay_s: float = 0.0,
    ) -> None:
        word_items = [
            {
                "word": re.sub(r"[^\w']", "", w).lower() or w,
                "start": w_start,
                "end": w_end,
                "confidence": 0.99,
                "punctuated_word": w,
            }
            for w, w_start, w_end in timed_words(transcript, start, end)
        ]
        message = {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(max(end - start, 0.0), 3),
            "start": round(start, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {
                "alternatives": [
                    {
                        "transcript": transcript,
                        "confidence": 0.99 if word_items else 0.0,
                        "words": word_items,
                    }
                ]
            },
            "metadata": {
                "request_id": self.conn.request_id,
                "model_info": {
                    "name": self.fake.model_name,
                    "version": "2024-01-18.26916",
                    "arch": self.conn.query.get("model", "nova-3"),
                },
                "model_uuid": "1dbdfb4d-85b2-4659-9c6c-d9f5e3d9e8f5",
            },
            "from_finalize": from_finalize,
        }
        if is_final and transcript:
            due = asyncio.get_running_loop().time() + delay_s
            self.fake.final_times.append((due, transcript))
        self.outbox.put(message, delay_s)

    def _metadata(self) -> dict:
        return {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": self.conn.request_id,
            "sha256": "0" * 64,
            "created": "2026-01-01T00:00:00.000Z",
            "duration": round(self.seg.clock_s, 3),
            "channels": int(self.conn.query.get("channels", "1")),
        }

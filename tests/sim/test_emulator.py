"""The Twilio emulator against a tiny stand-in server that checks everything Twilio promises.

The stand-in validates both signatures with twilio's RequestValidator, records every message
with its arrival time, and runs a per-test "agent" coroutine once ``start`` arrives, which
plays audio, marks and clears at the emulator.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable

import numpy as np
import pytest
from aiohttp import WSMsgType, web
from twilio.request_validator import RequestValidator

from agent.sim.emulator import (
    StreamConnectError,
    TwilioEmulator,
    TwiMLError,
    WebhookError,
    parse_twiml,
)
from agent.sim.playback import FRAME_S
from agent.sim.script import (
    BargeIn,
    Dtmf,
    Pause,
    Say,
    SendRaw,
    WaitForAgentAudio,
    WaitForAgentSilence,
)

TOKEN = "secret-auth-token-for-tests"
PUBLIC = "https://public.example"
STREAM_URL = "wss://public.example/ws"
TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
    f'<Stream url="{STREAM_URL}"><Parameter name="graph" value="receptionist"/>'
    '<Parameter name="lang" value="en"/></Stream></Connect></Response>'
)

Agent = Callable[["StandIn", web.WebSocketResponse], Awaitable[None]]


def audio(seconds: float, seed: int) -> bytes:
    """Distinct, reproducible mu-law bytes (never all silence)."""
    return np.random.default_rng(seed).integers(0, 0xFE, int(seconds * 8000), np.uint8).tobytes()


class StandIn:
    """Our server, reduced to what the emulator talks to."""

    def __init__(self, agent: Agent | None = None, validate_webhook: bool = True) -> None:
        self.agent = agent
        self.validate_webhook = validate_webhook
        self.validator = RequestValidator(TOKEN)
        self.webhooks: list[dict[str, str]] = []
        self.ws_signature_ok: bool | None = None
        self.inbox: list[tuple[float, object]] = []  # (loop time, parsed JSON or raw data)
        self.stream_sid = ""
        self._arrived = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/twiml", self.twiml)
        app.router.add_get("/ws", self.ws)
        return app

    async def twiml(self, request: web.Request) -> web.Response:
        form = dict(await request.post()) if request.method == "POST" else {}
        signature = request.headers.get("X-Twilio-Signature", "")
        if self.validate_webhook and not self.validator.validate(
            PUBLIC + request.path_qs, form, signature
        ):
            return web.Response(status=403, text="bad signature")
        self.webhooks.append(form or dict(request.query))
        return web.Response(text=TWIML, content_type="text/xml")

    async def ws(self, request: web.Request) -> web.StreamResponse:
        signature = request.headers.get("X-Twilio-Signature", "")
        self.ws_signature_ok = self.validator.validate(STREAM_URL, {}, signature)
        if not self.ws_signature_ok:
            return web.Response(status=403)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        agent_task = None
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                try:
                    data: object = json.loads(msg.data)
                except ValueError:
                    data = msg.data
            else:
                data = msg.data
            self.inbox.append((asyncio.get_running_loop().time(), data))
            self._arrived.set()
            self._arrived = asyncio.Event()
            if isinstance(data, dict) and data.get("event") == "start":
                self.stream_sid = data["streamSid"]
                if self.agent:
                    agent_task = asyncio.create_task(self.agent(self, ws))
        if agent_task:
            agent_task.cancel()
            await asyncio.gather(agent_task, return_exceptions=True)
        return ws

    def events(self, name: str) -> list[dict]:
        return [m for _, m in self.inbox if isinstance(m, dict) and m.get("event") == name]

    async def wait_for(
        self, pred: Callable[[object], bool], since: int = 0, timeout: float = 5.0
    ) -> float:
        """Arrival time of the first message from ``inbox[since:]`` matching ``pred``."""
        async with asyncio.timeout(timeout):
            while True:
                for t, msg in self.inbox[since:]:
                    if pred(msg):
                        return t
                await self._arrived.wait()

    async def play(self, ws: web.WebSocketResponse, data: bytes, chunk: int = 800) -> None:
        for i in range(0, len(data), chunk):
            payload = base64.b64encode(data[i : i + chunk]).decode()
            await ws.send_json(
                {"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}}
            )

    async def mark(self, ws: web.WebSocketResponse, name: str) -> None:
        await ws.send_json({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    async def clear(self, ws: web.WebSocketResponse) -> None:
        await ws.send_json({"event": "clear", "streamSid": self.stream_sid})


def echo_of(name: str) -> Callable[[object], bool]:
    return lambda m: isinstance(m, dict) and m.get("event") == "mark" and m["mark"]["name"] == name


async def start(aiohttp_server, stand_in: StandIn, token: str = TOKEN) -> TwilioEmulator:
    server = await aiohttp_server(stand_in.app())
    return TwilioEmulator(str(server.make_url("")), auth_token=token, public_base_url=PUBLIC)


async def test_webhook_start_and_media_pacing(aiohttp_server):
    stand_in = StandIn()
    emulator = await start(aiohttp_server, stand_in)
    result = await emulator.place_call([Pause(1.0)], query={"graph": "receptionist"})

    (form,) = stand_in.webhooks
    assert form["CallSid"] == result.call_sid and result.call_sid.startswith("CA")
    assert form["AccountSid"] == emulator.account_sid and len(emulator.account_sid) == 34
    assert (form["From"], form["To"], form["Caller"], form["Called"]) == (
        "+15550001111",
        "+15550002222",
        "+15550001111",
        "+15550002222",
    )
    assert (form["CallStatus"], form["Direction"], form["ApiVersion"]) == (
        "ringing",
        "inbound",
        "2010-04-01",
    )
    assert stand_in.ws_signature_ok is True

    messages = [m for _, m in stand_in.inbox]
    assert messages[0] == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    start_msg = messages[1]
    assert start_msg["event"] == "start" and start_msg["sequenceNumber"] == "1"
    assert start_msg["streamSid"] == result.stream_sid and result.stream_sid.startswith("MZ")
    assert start_msg["start"] == {
        "accountSid": emulator.account_sid,
        "streamSid": result.stream_sid,
        "callSid": result.call_sid,
        "tracks": ["inbound"],
        "customParameters": {"graph": "receptionist", "lang": "en"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    }
    assert result.parameters == {"graph": "receptionist", "lang": "en"}

    media = [(t, m) for t, m in stand_in.inbox if isinstance(m, dict) and m["event"] == "media"]
    assert 45 <= len(media) <= 55  # 1 s at 50 messages/s
    for i, (_, m) in enumerate(media):
        assert m["sequenceNumber"] == str(i + 2)
        assert m["streamSid"] == result.stream_sid
        body = m["media"]
        assert (body["track"], body["chunk"], body["timestamp"]) == (
            "inbound",
            str(i + 1),
            str(i * 20),
        )
        assert base64.b64decode(body["payload"]) == b"\xff" * 160
    # Paced against absolute deadlines: no drift, little jitter.
    t_first = media[0][0]
    lateness = [t - t_first - i * 0.02 for i, (t, _) in enumerate(media)]
    assert max(abs(x) for x in lateness) < 0.015

    (stop,) = stand_in.events("stop")
    assert stop["sequenceNumber"] == str(len(media) + 2)
    assert stop["stop"] == {"accountSid": emulator.account_sid, "callSid": result.call_sid}
    assert result.closed_by == "caller"
    assert result.media_frames_sent == len(media)
    assert result.sent_messages == len(media) + 3


async def test_wrong_token_is_refused(aiohttp_server):
    emulator = await start(aiohttp_server, StandIn(), token="wrong-token")
    with pytest.raises(WebhookError) as info:
        await emulator.place_call([Pause(0.1)])
    assert info.value.status == 403 and info.value.body == "bad signature"

    # A server that skips the webhook check still refuses the WebSocket upgrade.
    stand_in = StandIn(validate_webhook=False)
    emulator = await start(aiohttp_server, stand_in, token="wrong-token")
    with pytest.raises(StreamConnectError) as info:
        await emulator.place_call([Pause(0.1)])
    assert info.value.status == 403 and stand_in.ws_signature_ok is False


async def test_get_webhook_is_signed_over_the_query(aiohttp_server):
    stand_in = StandIn()
    emulator = await start(aiohttp_server, stand_in)
    result = await emulator.place_call([], method="GET", query={"graph": "sales"})
    (params,) = stand_in.webhooks
    assert params["graph"] == "sales" and params["CallSid"] == result.call_sid


async def test_marks_clear_and_heard_audio(aiohttp_server):
    first, second, third = audio(1.0, 1), audio(1.0, 2), audio(0.5, 3)
    timing: dict[str, float] = {}

    async def agent(s: StandIn, ws: web.WebSocketResponse) -> None:
        loop = asyncio.get_running_loop()
        timing["sent_first"] = loop.time()
        await s.play(ws, first)
        await s.mark(ws, "first")
        timing["echo_first"] = await s.wait_for(echo_of("first"))
        await s.play(ws, second)
        await s.mark(ws, "second")
        await s.play(ws, third)
        await s.mark(ws, "third")
        await asyncio.sleep(0.2)
        timing["clear"] = loop.time()
        await s.clear(ws)
        timing["echo_third"] = await s.wait_for(echo_of("third"))
        await asyncio.sleep(0.1)
        await ws.close()

    stand_in = StandIn(agent)
    emulator = await start(aiohttp_server, stand_in)
    result = await emulator.place_call([Pause(5.0)])

    assert result.closed_by == "server"
    assert result.marks_received == ["first", "second", "third"]
    assert result.marks_echoed == ["first", "second", "third"]
    echoes = {e[2]: e for e in result.events("mark_echo")}
    assert echoes["first"][3] is True
    assert echoes["second"][3] is False and echoes["third"][3] is False
    # The first mark comes back only once its second of audio has played.
    assert timing["echo_first"] - timing["sent_first"] >= 0.9 * 1.0
    assert timing["echo_first"] - timing["sent_first"] < 1.2
    # Marks pending at a clear come back at once.
    assert timing["echo_third"] - timing["clear"] < 0.05
    assert len(result.clears) == 1

    sent = first + second + third
    assert result.received_media_bytes == len(sent)
    assert result.heard == sent[: len(result.heard)]
    # Heard: all of the first second, then ~200 ms of the second before the clear.
    assert len(first) + 0.1 * 8000 <= len(result.heard) <= len(first) + 0.35 * 8000
    assert result.underruns == []
    assert len(result.agent_speech_segments) == 2
    assert result.first_agent_audio_t() == result.agent_speech_segments[0][0]
    assert result.heard_duration_s() == pytest.approx(len(result.heard) / 8000)
    assert result.max_buffer_s >= 1.4


async def test_underrun_detection_on_a_gappy_stream(aiohttp_server):
    async def agent(s: StandIn, ws: web.WebSocketResponse) -> None:
        await s.play(ws, audio(0.3, 4))
        await asyncio.sleep(0.4)  # ~100 ms dry inside an utterance: a stutter
        await s.play(ws, audio(0.3, 5))
        await s.mark(ws, "sentence")
        await asyncio.sleep(0.4)  # ~100 ms dry after a mark: a pause between sentences
        await s.play(ws, audio(0.3, 6))
        await asyncio.sleep(0.9)  # ~600 ms dry: too long to be a stutter
        await s.play(ws, audio(0.2, 7))

    emulator = await start(aiohttp_server, StandIn(agent))
    result = await emulator.place_call([Pause(2.5)])

    assert len(result.underruns) == 1
    t, gap_ms = result.underruns[0]
    assert 50 <= gap_ms <= 160
    assert result.agent_speech_segments[0][1] == pytest.approx(t)
    assert len(result.agent_speech_segments) == 4
    assert len(result.heard) == int(1.1 * 8000)


async def test_dtmf_and_raw_messages_arrive(aiohttp_server):
    stand_in = StandIn()
    emulator = await start(aiohttp_server, stand_in)
    script = [Dtmf("5"), SendRaw("this is not json"), SendRaw(b"\x00\x01binary"), Dtmf("#")]
    result = await emulator.place_call(script)

    dtmf = stand_in.events("dtmf")
    assert [d["dtmf"] for d in dtmf] == [
        {"track": "inbound_track", "digit": "5"},
        {"track": "inbound_track", "digit": "#"},
    ]
    assert all(d["streamSid"] == result.stream_sid for d in dtmf)
    seqs = [
        int(m["sequenceNumber"])
        for _, m in stand_in.inbox
        if isinstance(m, dict) and "sequenceNumber" in m
    ]
    assert seqs == list(range(1, len(seqs) + 1))
    raw = [m for _, m in stand_in.inbox if not isinstance(m, dict)]
    assert raw == ["this is not json", b"\x00\x01binary"]


async def test_say_and_barge_in(aiohttp_server):
    question, interruption = audio(0.3, 8), audio(0.25, 9)

    async def agent(s: StandIn, ws: web.WebSocketResponse) -> None:
        def caller_frame(speaking: bool) -> Callable[[object], bool]:
            def match(m: object) -> bool:
                if not (isinstance(m, dict) and m.get("event") == "media"):
                    return False
                return (base64.b64decode(m["media"]["payload"]) != b"\xff" * 160) == speaking

            return match

        await s.wait_for(caller_frame(speaking=True))  # the question...
        await s.wait_for(caller_frame(speaking=False), since=len(s.inbox))  # ...has ended
        await s.play(ws, audio(2.0, 10))
        await s.mark(ws, "answer")
        # Barge-in: the caller speaks again while the answer plays.
        await s.wait_for(caller_frame(speaking=True), since=len(s.inbox))
        await s.clear(ws)

    stand_in = StandIn(agent)
    emulator = await start(aiohttp_server, stand_in)
    script = [
        Say(question, "question"),
        BargeIn(after_ms=300, audio=interruption, text="stop"),
        WaitForAgentSilence(pause=0.1, quiet=0.2),
    ]
    result = await emulator.place_call(script)

    said = b"".join(
        base64.b64decode(m["media"]["payload"]) for m in stand_in.events("media")
    ).replace(b"\xff", b"")
    assert said == (question + interruption).replace(b"\xff", b"")
    (s1, s2) = result.events("say_start")
    (e1, e2) = result.events("say_end")
    assert (s1[2], e1[2], s2[2], e2[2]) == ("question", "question", "stop", "stop")
    assert e1[1] - s1[1] == pytest.approx(0.3, abs=0.001)
    first_audio = result.first_agent_audio_t()
    assert first_audio > e1[1]
    assert s2[1] - first_audio == pytest.approx(0.3, abs=0.04)
    assert len(result.clears) == 1 and result.events("mark_echo")[0][3] is False
    assert 0.3 <= result.heard_duration_s() <= 0.5
    assert result.timeouts == []


async def test_wait_for_silence_then_answer(aiohttp_server):
    async def agent(s: StandIn, ws: web.WebSocketResponse) -> None:
        await s.play(ws, audio(0.4, 11))
        await s.mark(ws, "greeting")
        await asyncio.sleep(0.45)  # a short pause inside the greeting: not the end yet
        await s.play(ws, audio(0.2, 12))

    emulator = await start(aiohttp_server, StandIn(agent))
    script = [
        WaitForAgentAudio(),
        WaitForAgentSilence(pause=0.2, quiet=0.3),
        Say(audio(0.1, 13), "hello"),
    ]
    result = await emulator.place_call(script)
    assert result.timeouts == []
    assert len(result.agent_speech_segments) == 2
    end_of_agent = result.agent_speech_segments[-1][1]
    (say_start,) = result.events("say_start")
    assert say_start[1] - end_of_agent == pytest.approx(0.5, abs=0.06)


async def test_timeouts_are_recorded_and_max_duration_ends_the_call(aiohttp_server):
    emulator = await start(aiohttp_server, StandIn())
    result = await emulator.place_call([WaitForAgentAudio(timeout=0.2), Pause(0.1)])
    assert [what for _, what in result.timeouts] == ["WaitForAgentAudio(timeout=0.2)"]
    assert result.closed_by == "caller"

    result = await emulator.place_call([Pause(5.0)], max_duration=0.3)
    assert result.closed_by == "caller" and result.duration_s < 1.0
    assert result.events("max_duration")


async def test_rest_hang_up_and_protocol_errors(aiohttp_server):
    async def agent(s: StandIn, ws: web.WebSocketResponse) -> None:
        await ws.send_str("garbage")
        await ws.send_json({"event": "media", "streamSid": s.stream_sid, "media": {}})
        await ws.send_json({"event": "dance", "streamSid": s.stream_sid})

    stand_in = StandIn(agent)
    emulator = await start(aiohttp_server, stand_in)
    call = asyncio.create_task(emulator.place_call([Pause(5.0)]))
    async with asyncio.timeout(2):
        while not emulator.active_calls:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    assert await emulator.end_call(emulator.active_calls[0])
    result = await call
    assert result.closed_by == "api" and stand_in.events("stop")
    assert len(result.protocol_errors) == 3
    assert not emulator.active_calls and not await emulator.end_call(result.call_sid)


async def test_many_concurrent_calls_stay_paced(aiohttp_server):
    stand_in = StandIn()
    emulator = await start(aiohttp_server, stand_in)
    results = await asyncio.gather(*(emulator.place_call([Pause(1.0)]) for _ in range(20)))
    assert len({r.call_sid for r in results}) == 20
    for r in results:
        # One frame per 20 ms of the stream's wall-clock life: at least the pause's 50 (less
        # the last tick cut by the hang-up), and never more than real time allows. A stalled
        # machine stretches the call, and the clock then catches up, as Twilio would.
        assert 48 <= r.media_frames_sent <= r.duration_s / FRAME_S + 1


def test_parse_twiml_rejects_what_twilio_rejects():
    assert parse_twiml(TWIML) == (STREAM_URL, {"graph": "receptionist", "lang": "en"})
    bad = [
        "<Response><Say>hi</Say></Response>",
        "<Response><Start><Stream url='wss://x/ws'/></Start></Response>",
        "<Response><Connect><Stream url='ws://x/ws'/></Connect></Response>",
        "<Response><Connect><Stream url='wss://x/ws?graph=a'/></Connect></Response>",
        "not xml",
    ]
    for twiml in bad:
        with pytest.raises(TwiMLError):
            parse_twiml(twiml)


def test_buffer_depth_counts_what_twilio_played_while_the_emulator_stalled():
    """Audio that arrives while the emulator's own player is behind real time (its process
    stalled) is measured against what Twilio would have played meanwhile."""
    from agent.sim.playback import Playback

    steady, stalled = Playback(), Playback()
    steady.enqueue(bytes(4000))  # 0.5 s of mu-law
    stalled.enqueue(bytes(4000), behind_s=0.15)
    assert steady.max_buffer_s == 0.5
    assert abs(stalled.max_buffer_s - 0.35) < 1e-9

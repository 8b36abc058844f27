"""Bad input on the media stream is counted and dropped; it never ends a call.

One real-time call carries every kind of malformed message Twilio (or something pretending
to be Twilio) could send, then asks a question: the caller must still hear the answer.
Two short raw-socket tests cover the stream's opening: media before `start`, and no `start`.
"""

from __future__ import annotations

import asyncio
import audioop
import base64
import json

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

import agent.app.call_session
from agent.sim.script import HangUp, Say, SendRaw, WaitForAgentAudio, WaitForAgentSilence
from agent.twilio.protocol import MAX_MESSAGE_BYTES, WS_HARD_LIMIT_BYTES
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_HOST, caller_audio
from tests.e2e.conftest import call_record

# Not "how much does it cost": the receptionist's router answers that from its audio cache.
QUESTION = "what are your opening hours"
ANSWER = "We're open from nine to five, Monday to Friday."
STREAM_URL = f"wss://{PUBLIC_HOST}/ws"
SILENCE_B64 = base64.b64encode(b"\xff" * 160).decode()  # 20 ms of mu-law silence

# Well over the parser's 64 KiB limit (a well-formed media message otherwise), but under the
# hard limit where aiohttp itself closes the socket: it must be dropped and counted.
OVERSIZE = json.dumps({"event": "media", "media": {"payload": "A" * (WS_HARD_LIMIT_BYTES - 4096)}})

# (what is sent, the drop reason it must be counted under)
MALFORMED: list[tuple[str | bytes, str]] = [
    ('{"event": "media", "media": {"payload": ', "bad_json"),
    ('["media"]', "not_an_object"),
    ('{"event": "dance", "dance": {}}', "unknown_event"),
    ('{"event": "media", "media": {"payload": "%%% not base64 %%%"}}', "bad_base64"),
    ('{"event": "mark"}', "missing_field"),
    (OVERSIZE, "too_large"),
    (b"\x00\x01\x02 binary frame", "binary"),
]


async def _eventually(condition, timeout: float = 10.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def dropped(metrics, reason: str) -> float:
    return metrics.value("switchboard_twilio_messages_dropped_total", reason=reason)


async def test_malformed_messages_are_counted_and_the_call_goes_on(fakes, start_server):
    assert MAX_MESSAGE_BYTES * 2 < len(OVERSIZE) < WS_HARD_LIMIT_BYTES
    server = await start_server()
    fakes.deepgram.set_script([QUESTION])
    fakes.groq.replies = [("hours", ANSWER)]
    result = await server.emulator().place_call(
        [
            WaitForAgentAudio(timeout=10),  # the greeting starts...
            WaitForAgentSilence(pause=0.2, timeout=10),  # ...and ends
            *(SendRaw(data) for data, _ in MALFORMED),
            Say(caller_audio("what_are_your_opening_hours"), QUESTION),
            WaitForAgentAudio(timeout=10),  # the answer starts...
            WaitForAgentSilence(pause=0.2, timeout=15),  # ...and ends
            HangUp(),
        ],
        max_duration=45,
    )
    # The server kept the call: the caller hung up, after hearing the answer.
    assert result.closed_by == "caller", result.timeline[-5:]
    assert not result.timeouts, result.timeouts
    assert not result.protocol_errors, result.protocol_errors
    answer = [
        audio
        for cid, audio in fakes.cartesia.audio_by_context.items()
        if "nine to five" in fakes.cartesia.transcripts_by_context()[cid]
    ]
    assert answer, fakes.cartesia.transcripts_by_context()
    assert audioop.lin2ulaw(answer[0], 2)[:8000] in result.heard

    metrics = server.services.metrics
    assert await _eventually(
        lambda: metrics.value("switchboard_calls_total", outcome="caller_hung_up") == 1
    )
    for _, reason in MALFORMED:
        assert dropped(metrics, reason) == 1, reason
    # ...and the good messages around them were all taken.
    assert metrics.value("switchboard_twilio_messages_received_total", event="start") == 1
    assert metrics.value("switchboard_twilio_messages_received_total", event="media") > 100


def _signed() -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(STREAM_URL, {})}


def _start(call_sid: str) -> dict:
    """A `start` message's body, as Twilio sends it for the receptionist graph."""
    return {
        "streamSid": "MZ" + "0" * 32,
        "callSid": call_sid,
        "accountSid": ACCOUNT_SID,
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"graph": "receptionist", "from": "+15550001111", "to": "+1666"},
    }


def _message(event: str, **body) -> str:
    return json.dumps({"event": event, "streamSid": "MZ" + "0" * 32, **body})


async def test_media_before_start_is_dropped_and_the_call_still_starts(start_server):
    server = await start_server()
    metrics = server.services.metrics
    call_sid = "CA" + "7" * 32
    start = _start(call_sid)
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(server.base_url + "/ws", headers=_signed())
        await ws.send_str(json.dumps({"event": "connected", "protocol": "Call", "version": "1"}))
        await ws.send_str(_message("media", media={"payload": SILENCE_B64}))
        await ws.send_str(_message("start", start=start))
        # The pipeline is built and started: wait for it to be live before hanging up.
        assert await _eventually(lambda: any(s.call_sid == call_sid for s in server.services.calls))
        await ws.send_str(_message("media", media={"payload": SILENCE_B64}))
        await ws.send_str(_message("stop", stop={"callSid": call_sid}))
        await ws.close()
    assert await _eventually(
        lambda: metrics.value("switchboard_calls_total", outcome="caller_hung_up") == 1
    )
    assert dropped(metrics, "media_before_start") == 1
    assert metrics.value("switchboard_twilio_messages_received_total", event="start") == 1
    assert metrics.value("switchboard_calls_rejected_total", reason="no_start") == 0
    assert await _eventually(lambda: not server.services.calls)


async def test_a_stream_that_never_starts_is_closed_and_counted(start_server, monkeypatch):
    monkeypatch.setattr(agent.app.call_session, "START_TIMEOUT_S", 0.5)
    server = await start_server()
    metrics = server.services.metrics
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(server.base_url + "/ws", headers=_signed())
        await ws.send_str(json.dumps({"event": "connected", "protocol": "Call", "version": "1"}))
        # Nothing else: the server must close the socket once START_TIMEOUT_S has passed.
        try:
            msg = await ws.receive(timeout=5.0)  # 10x the timeout: room for a loaded machine
        except TimeoutError:
            pytest.fail("a stream without `start` was still open 5 s in (START_TIMEOUT_S=0.5)")
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
        await ws.close()
    assert ws.close_code == 1008
    assert await _eventually(
        lambda: metrics.value("switchboard_calls_rejected_total", reason="no_start") == 1
    )
    assert metrics.value("switchboard_twilio_messages_received_total", event="connected") == 1
    assert metrics.value("switchboard_calls_total", outcome="caller_hung_up") == 0
    assert await _eventually(lambda: not server.services.calls)


async def test_a_message_over_the_socket_limit_ends_the_call_and_the_record_says_why(
    start_server,
):
    server = await start_server(ADMIN_TOKEN="t" * 24)
    metrics = server.services.metrics
    call_sid = "CA" + "8" * 32
    start = _start(call_sid)
    huge = _message("media", media={"payload": "A" * (WS_HARD_LIMIT_BYTES + 1024)})
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(server.base_url + "/ws", headers=_signed())
        await ws.send_str(json.dumps({"event": "connected", "protocol": "Call", "version": "1"}))
        await ws.send_str(_message("start", start=start))
        assert await _eventually(lambda: any(s.call_sid == call_sid for s in server.services.calls))
        await ws.send_str(huge)
        async for _ in ws:  # the greeting's audio, until the server closes the socket
            pass
    assert ws.close_code == 1009  # "message too big", from the socket itself
    assert await _eventually(lambda: metrics.value("switchboard_calls_total", outcome="error") == 1)
    call = await call_record(server, call_sid, lambda c: c["outcome"] is not None)
    assert call["outcome"] == "error"
    assert call["end_reason"] == "a media-stream message over 256 KiB closed the stream"

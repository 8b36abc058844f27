"""agent/twilio/serializer.py: audio both ways at 8 kHz, marks tracked through clear, hang-up policy."""

import audioop
import json

from pipecat.frames.frames import (
    EndFrame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
)

from agent.twilio import protocol as tp
from agent.twilio.serializer import TwilioSerializer
from processors.frames import OutputMarkFrame, TwilioMarkFrame

START = tp.Start("MZ1", "CA1", "AC1", ["inbound"], {}, {})


def make(auth_token=None):
    return TwilioSerializer(
        START, account_sid="AC1", auth_token=auth_token, api_base_url="http://127.0.0.1:1"
    )


async def test_outbound_audio_is_mulaw_media():
    s = make()
    pcm = audioop.ulaw2lin(bytes(range(0, 160)), 2)
    msg = json.loads(await s.serialize(OutputAudioRawFrame(pcm, 8000, 1)))
    assert msg["event"] == "media" and msg["streamSid"] == "MZ1"
    import base64

    assert base64.b64decode(msg["media"]["payload"]) == audioop.lin2ulaw(pcm, 2)


async def test_inbound_media_and_dtmf_become_frames():
    s = make()
    frame = s.frame_for(tp.Media(b"\xff" * 160, 0, 1))
    assert (
        isinstance(frame, InputAudioRawFrame)
        and frame.sample_rate == 8000
        and len(frame.audio) == 320
    )
    assert isinstance(s.frame_for(tp.Dtmf("7")), InputDTMFFrame)


async def test_marks_echoed_after_clear_count_as_not_played():
    s = make()
    assert json.loads(await s.serialize(OutputMarkFrame(mark_name="m1")))["mark"]["name"] == "m1"
    played = s.frame_for(tp.Mark("m1"))
    assert isinstance(played, TwilioMarkFrame) and played.played
    await s.serialize(OutputMarkFrame(mark_name="m2"))
    assert json.loads(await s.serialize(InterruptionFrame())) == {
        "event": "clear",
        "streamSid": "MZ1",
    }
    assert s.frame_for(tp.Mark("m2")).played is False


async def test_no_rest_hang_up_unless_the_agent_ends_the_call(monkeypatch):
    s = make(auth_token="tok-123456")
    calls = []

    async def fake_hang_up():
        calls.append(1)

    monkeypatch.setattr(s, "_hang_up_call", fake_hang_up)
    assert await s.serialize(EndFrame()) is None
    assert calls == []
    s.hang_up_on_end = True
    await s.serialize(EndFrame())
    await s.serialize(EndFrame())
    await s.hangup_task
    assert calls == [1]


async def test_no_credentials_means_no_hang_up_attempt():
    s = make(auth_token=None)
    s.hang_up_on_end = True
    assert await s.serialize(EndFrame()) is None


async def test_rest_hang_up_against_twilio_fake_treats_20404_as_done(fakes):
    # Our hang-up code, over HTTP, against the Twilio REST fake.
    s = TwilioSerializer(
        START,
        account_sid="AC1",
        auth_token="tok-123456",
        api_base_url=fakes.env()["TWILIO_API_BASE_URL"],
    )
    s.hang_up_on_end = True
    await s.serialize(EndFrame())
    await s.hangup_task
    [first] = fakes.twilio.hangups
    assert (first.call_sid, first.status, first.form["Status"], first.auth_ok) == (
        "CA1",
        200,
        "completed",
        True,
    )

    again = TwilioSerializer(
        START,
        account_sid="AC1",
        auth_token="tok-123456",
        api_base_url=fakes.env()["TWILIO_API_BASE_URL"],
    )
    again.hang_up_on_end = True
    await again.serialize(EndFrame())  # the call is gone now: 404 with code 20404, no error
    await again.hangup_task
    assert fakes.twilio.hangups[-1].status == 404
    assert (s.hangup_result, again.hangup_result) == ("ok", "already_ended")
    assert again.hangup_attempts == 1  # 20404 is success: no retry


def rest_serializer(fakes, token="tok-123456") -> TwilioSerializer:
    s = TwilioSerializer(
        START, account_sid="AC1", auth_token=token, api_base_url=fakes.env()["TWILIO_API_BASE_URL"]
    )
    s.hang_up_on_end = True
    return s


async def test_rest_hang_up_is_retried_through_server_errors(fakes, monkeypatch):
    monkeypatch.setattr("agent.twilio.serializer.HANGUP_BACKOFF_S", (0.01, 0.01, 0.01))
    fakes.twilio.fail_next = [500, 503, 429]
    s = rest_serializer(fakes)
    await s.serialize(EndFrame())
    await s.hangup_task
    assert [h.status for h in fakes.twilio.hangups] == [500, 503, 429, 200]
    assert (s.hangup_attempts, s.hangup_result) == (4, "ok")


async def test_rest_hang_up_gives_up_after_four_tries_and_never_raises(fakes, monkeypatch):
    monkeypatch.setattr("agent.twilio.serializer.HANGUP_BACKOFF_S", (0.01, 0.01, 0.01))
    fakes.twilio.fail_next = [500] * 10
    s = rest_serializer(fakes)
    assert await s.serialize(EndFrame()) is None  # returns at once; the retries go on
    await s.hangup_task
    assert len(fakes.twilio.hangups) == 4 and s.hangup_result == "failed"


async def test_rest_hang_up_with_a_refused_credential_is_not_retried(fakes):
    fakes.twilio.expected_auth_token = "the-right-token"
    s = rest_serializer(fakes, token="a-wrong-token")
    await s.serialize(EndFrame())
    await s.hangup_task
    assert [h.status for h in fakes.twilio.hangups] == [401]
    assert s.hangup_result == "refused_401"

"""agent/twilio/serializer.py: audio both ways at 8 kHz, marks tracked through clear, when to hang up."""

import asyncio
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
from agent.twilio.rest import TwilioRestClient
from agent.twilio.rest_results import HangUpResult
from agent.twilio.serializer import TwilioSerializer
from processors.frames import OutputMarkFrame, TwilioMarkFrame

START = tp.Start("MZ1", "CA1", "AC1", ["inbound"], {}, {})


def make(hang_up=None):
    return TwilioSerializer(START, hang_up=hang_up)


class RecordedHangUps:
    """A CallHangUp that counts its requests and finishes at once."""

    def __init__(self):
        self.requests = 0

    def hang_up_in_background(self) -> asyncio.Task[HangUpResult]:
        self.requests += 1

        async def done() -> HangUpResult:
            return HangUpResult("ok", 1)

        return asyncio.create_task(done())


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


async def test_no_rest_hang_up_unless_the_agent_ends_the_call():
    hang_ups = RecordedHangUps()
    s = make(hang_up=hang_ups)
    assert await s.serialize(EndFrame()) is None
    assert hang_ups.requests == 0 and s.hangup_task is None
    s.hang_up_on_end = True
    await s.serialize(EndFrame())
    await s.serialize(EndFrame())
    assert await s.hangup_task == HangUpResult("ok", 1)
    assert hang_ups.requests == 1  # once, however many end frames


async def test_no_credentials_means_no_hang_up_attempt():
    s = make(hang_up=None)
    s.hang_up_on_end = True
    assert await s.serialize(EndFrame()) is None
    assert s.hangup_task is None


async def test_end_of_call_hangs_up_over_rest_against_the_twilio_fake(fakes):
    # The serializer and the REST client together, over HTTP, against the Twilio REST fake.
    client = TwilioRestClient("AC1", "tok-123456", fakes.env()["TWILIO_API_BASE_URL"])
    s = make(hang_up=client.call("CA1"))
    s.hang_up_on_end = True
    assert await s.serialize(EndFrame()) is None  # returns at once; the request goes on
    assert await s.hangup_task == HangUpResult("ok", 1)
    [hangup] = fakes.twilio.hangups
    assert (hangup.call_sid, hangup.form, hangup.auth_ok) == ("CA1", {"Status": "completed"}, True)
    await client.close()

"""agent/twilio/protocol.py: every Twilio event parsed; every malformed message has a reason."""

import base64
import json

import pytest

from agent.errors import TwilioProtocolError
from agent.twilio import protocol as tp

START = {
    "event": "start",
    "sequenceNumber": "1",
    "start": {
        "accountSid": "AC123",
        "streamSid": "MZ123",
        "callSid": "CA123",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"graph": "receptionist", "from": "+15550001111"},
    },
    "streamSid": "MZ123",
}


def media(payload: bytes = b"\xff" * 160, seq: int = 3) -> str:
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": str(seq),
            "media": {
                "track": "inbound",
                "chunk": "1",
                "timestamp": "20",
                "payload": base64.b64encode(payload).decode(),
            },
            "streamSid": "MZ123",
        }
    )


def test_start_carries_sids_and_custom_parameters():
    event = tp.parse_message(json.dumps(START), started=False)
    assert isinstance(event, tp.Start)
    assert (event.stream_sid, event.call_sid, event.account_sid) == ("MZ123", "CA123", "AC123")
    assert event.custom_parameters == {"graph": "receptionist", "from": "+15550001111"}


def test_media_mark_dtmf_stop_connected():
    m = tp.parse_message(media(b"\x01\x02", seq=7), started=True)
    assert m == tp.Media(payload=b"\x01\x02", timestamp_ms=20, sequence_number=7)
    assert tp.parse_message('{"event":"mark","mark":{"name":"seg-1"}}', started=True) == tp.Mark(
        "seg-1"
    )
    assert tp.parse_message(
        '{"event":"dtmf","dtmf":{"track":"inbound_track","digit":"5"}}', started=True
    ) == tp.Dtmf("5")
    assert tp.parse_message('{"event":"stop","stop":{"callSid":"CA1"}}', started=True) == tp.Stop(
        "CA1"
    )
    assert isinstance(
        tp.parse_message(
            '{"event":"connected","protocol":"Call","version":"1.0.0"}', started=False
        ),
        tp.Connected,
    )


@pytest.mark.parametrize(
    ("message", "started", "reason"),
    [
        ("{not json", True, "bad_json"),
        ("[1, 2]", True, "not_an_object"),
        ('{"event":"dance"}', True, "unknown_event"),
        ('{"no_event": 1}', True, "unknown_event"),
        (media(), False, "media_before_start"),
        ('{"event":"media","media":{"payload":"@@not-base64@@"}}', True, "bad_base64"),
        ('{"event":"media","media":{}}', True, "missing_field"),
        ('{"event":"mark"}', True, "missing_field"),
        ('{"event":"dtmf","dtmf":{"digit":"x"}}', True, "missing_field"),
        (json.dumps(START), True, "duplicate_start"),
        ('{"event":"start","start":{"streamSid":"MZ"}}', False, "missing_field"),
        ("x" * (64 * 1024 + 1), True, "too_large"),
        (b"\x00\x01", True, "binary"),
    ],
)
def test_malformed_messages_raise_with_a_reason(message, started, reason):
    with pytest.raises(TwilioProtocolError) as info:
        tp.parse_message(message, started=started)
    assert info.value.reason == reason


def test_outbound_messages_are_valid_json_in_twilio_shape():
    assert json.loads(tp.media_message("MZ1", b"\xff\x7f")) == {
        "event": "media",
        "streamSid": "MZ1",
        "media": {"payload": base64.b64encode(b"\xff\x7f").decode()},
    }
    assert json.loads(tp.mark_message("MZ1", "a")) == {
        "event": "mark",
        "streamSid": "MZ1",
        "mark": {"name": "a"},
    }
    assert json.loads(tp.clear_message("MZ1")) == {"event": "clear", "streamSid": "MZ1"}

"""agent/twilio/transport.py: caller audio goes into the pipeline in 60 ms frames, larger only to
catch up with audio already waiting on the socket; other events keep their order."""

from __future__ import annotations

import json
from collections import deque

from agent.twilio import protocol as tp
from agent.twilio.serializer import TwilioSerializer
from agent.twilio.transport import TwilioTransport

START = tp.Start("MZ1", "CA1", "AC1", ["inbound"], {}, {})


class QueuedBridge:
    """A socket whose messages are all already waiting (a call that fell behind), or that
    arrive one at a time (`waiting=False`: nothing is queued behind the one read)."""

    def __init__(self, messages: list[str], *, waiting: bool = True):
        self._messages = deque(messages)
        self._waiting = waiting
        self.error_reason = None
        self.is_open = True

    async def receive(self):
        return self._messages.popleft() if self._messages else None

    def has_pending(self) -> bool:
        return self._waiting and bool(self._messages)


def media(count: int) -> list[str]:
    """Twilio's inbound `media` messages, 20 ms of mu-law each (byte value = message index)."""
    import base64

    return [
        json.dumps(
            {
                "event": "media",
                "sequenceNumber": str(n + 3),
                "media": {
                    "track": "inbound",
                    "chunk": str(n + 1),
                    "timestamp": str(n * 20),
                    "payload": base64.b64encode(bytes([n % 256]) * 160).decode(),
                },
                "streamSid": "MZ1",
            }
        )
        for n in range(count)
    ]


async def pushed_frames(bridge) -> list:
    transport = TwilioTransport(
        bridge,
        TwilioSerializer(START),
    )
    frames: list = []

    async def record(frame, *args):
        frames.append(frame)

    receiver = transport.input()
    receiver.push_audio_frame = record
    receiver.push_frame = record
    await receiver._receive_loop()
    return frames


async def test_live_audio_goes_in_60_ms_frames():
    frames = await pushed_frames(QueuedBridge(media(30), waiting=False))
    assert [len(f.audio) // 16 for f in frames] == [60] * 10  # ms of 8 kHz PCM16


async def test_audio_already_waiting_goes_in_frames_of_up_to_500_ms():
    # 2 s of caller audio queued at once: 4 frames, not 34 (each costs a VAD round trip).
    frames = await pushed_frames(QueuedBridge(media(100)))
    assert [len(f.audio) // 16 for f in frames] == [500, 500, 500, 500]
    sent = b"".join(bytes([n % 256]) * 160 for n in range(100))
    import audioop

    assert b"".join(f.audio for f in frames) == audioop.ulaw2lin(sent, 2)


async def test_other_events_still_flush_the_audio_before_them():
    dtmf = json.dumps(
        {"event": "dtmf", "streamSid": "MZ1", "sequenceNumber": "9", "dtmf": {"digit": "5"}}
    )
    frames = await pushed_frames(QueuedBridge([*media(5), dtmf, *media(2)]))
    kinds = [type(f).__name__ for f in frames]
    assert kinds == ["InputAudioRawFrame", "InputDTMFFrame", "InputAudioRawFrame"]
    assert [len(frames[0].audio) // 16, len(frames[2].audio) // 16] == [100, 40]

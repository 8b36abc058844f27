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


async def pushed_frames(bridge, transport: TwilioTransport | None = None) -> list:
    """Run the input side's receive loop to the socket's end; every frame it pushed."""
    transport = transport or TwilioTransport(bridge, TwilioSerializer(START))
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


# -- the media link (processors/media_link.py) --------------------------------------------


class LinkBridge(QueuedBridge):
    """Records what the transport sends, as the send clock would get it."""

    def __init__(self, messages: list[str] = ()):
        super().__init__(list(messages), waiting=False)
        self.sent: list[tuple[str, float | None, float | None]] = []
        self.dropped = 0

    def send(self, text: str) -> bool:
        self.sent.append((text, None, None))
        return True

    def send_at(self, text: str, at: float, *, due=None, on_lateness=None) -> bool:
        self.sent.append((text, at, due))
        return True

    def drop_unsent(self) -> int:
        self.dropped += 1
        return 3


class Subscriber:
    def __init__(self):
        self.echoes: list = []
        self.ended = 0

    async def take_echo(self, frame) -> None:
        self.echoes.append((frame.mark_name, frame.played))

    def media_ended(self) -> None:
        self.ended += 1


def link(bridge) -> TwilioTransport:
    return TwilioTransport(
        bridge,
        TwilioSerializer(START),
    )


async def test_the_link_sends_audio_at_its_time_marks_behind_it_and_clear():
    bridge = LinkBridge()
    transport = link(bridge)
    assert transport.send_audio(b"\0\0" * 160, 5.0, 4.9, None)
    assert transport.send_mark("u1-1")
    assert transport.drop_scheduled() == 3 and bridge.dropped == 1
    assert await transport.clear()
    events = [(json.loads(text)["event"], at, due) for text, at, due in bridge.sent]
    assert events == [("media", 5.0, 4.9), ("mark", None, None), ("clear", None, None)]
    media = json.loads(bridge.sent[0][0])
    assert media["streamSid"] == "MZ1" and len(media["media"]["payload"]) == 216  # 160 B b64
    # The clear makes Twilio echo the mark unplayed: the serializer counts it so.
    echo = json.dumps({"event": "mark", "streamSid": "MZ1", "mark": {"name": "u1-1"}})
    frame = transport.serializer.frame_for(tp.parse_message(echo, started=True))
    assert frame.played is False


def mark_echo(name: str) -> str:
    return json.dumps(
        {"event": "mark", "streamSid": "MZ1", "sequenceNumber": "4", "mark": {"name": name}}
    )


async def test_mark_echoes_go_to_the_subscriber_not_down_the_pipeline():
    transport = link(LinkBridge([*media(3), mark_echo("u1-1")]))
    subscriber = Subscriber()
    transport.subscribe(subscriber)
    frames: list = []

    async def record(frame, *args):
        frames.append(frame)

    receiver = transport.input()
    receiver.push_audio_frame = record
    receiver.push_frame = record
    hung_up: list = []
    transport.add_event_handler("on_caller_hung_up", lambda t, reason: hung_up.append(reason))
    await receiver._receive_loop()  # the socket closes after the echo: the caller hung up
    assert subscriber.echoes == [("u1-1", True)]
    assert [type(f).__name__ for f in frames] == ["InputAudioRawFrame"]
    assert subscriber.ended == 1 and transport.hung_up_by_caller == "socket_closed"


async def test_without_a_subscriber_echoes_travel_as_frames():
    frames = await pushed_frames(QueuedBridge([mark_echo("u1-1")]))
    assert [(type(f).__name__, f.mark_name) for f in frames] == [("TwilioMarkFrame", "u1-1")]


# -- the caller-audio tap (a call's recording) ----------------------------------------------


async def test_a_caller_audio_tap_gets_every_payload_with_its_timestamp():
    transport = TwilioTransport(QueuedBridge(media(7), waiting=False), TwilioSerializer(START))
    got: list = []

    class Tap:
        def caller_audio(self, ulaw: bytes, timestamp_ms: int) -> None:
            got.append((ulaw, timestamp_ms))

    transport.tap_caller_audio(Tap())
    frames = await pushed_frames(None, transport)
    assert got == [(bytes([n]) * 160, n * 20) for n in range(7)]
    assert sum(len(f.audio) for f in frames) == 7 * 320  # the pipeline got it all too


async def test_a_failing_tap_is_detached_and_the_callers_audio_goes_on():
    transport = TwilioTransport(QueuedBridge(media(9), waiting=False), TwilioSerializer(START))
    calls = []

    class Broken:
        def caller_audio(self, ulaw: bytes, timestamp_ms: int) -> None:
            calls.append(timestamp_ms)
            raise RuntimeError("a bug in the recording")

    transport.tap_caller_audio(Broken())
    frames = await pushed_frames(None, transport)
    assert calls == [0] and transport.caller_tap is None
    assert [len(f.audio) // 16 for f in frames] == [60, 60, 60]

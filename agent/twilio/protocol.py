"""Twilio Media Streams messages: strict parsing of what Twilio sends, encoding of what we send.

Inbound events (Twilio → us): `connected`, `start`, `media`, `mark`, `dtmf`, `stop`.
Outbound (us → Twilio): `media`, `mark`, `clear`.

`parse_message` turns one WebSocket text message into a typed event or raises
`TwilioProtocolError` with a short `reason` label (used as the Prometheus label of the
dropped-messages counter): `too_large`, `binary`, `bad_json`, `not_an_object`,
`unknown_event`, `missing_field`, `bad_base64`, `media_before_start`, `duplicate_start`.

This is the hot path (50 media messages a second per call): one `json.loads`, one base64
decode, no logging, no per-message allocations beyond the event itself.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

from agent.errors import TwilioProtocolError

# Every call's audio: Twilio media streams carry 8 kHz mono mu-law both ways. The one
# definition of the project's sample rate (the pipeline, the pacer and the audio tools use it).
SAMPLE_RATE = 8000

# A message over MAX_MESSAGE_BYTES (Twilio's are ~0.3 KiB) is dropped and counted, the call
# going on; one over WS_HARD_LIMIT_BYTES is refused by the socket itself (aiohttp closes it
# with 1009, ending the call), so a broken or hostile peer cannot make us buffer megabytes.
MAX_MESSAGE_BYTES = 64 * 1024
WS_HARD_LIMIT_BYTES = MAX_MESSAGE_BYTES * 4


@dataclass(slots=True)
class Connected:
    protocol: str
    version: str


@dataclass(slots=True)
class Start:
    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: list[str]
    media_format: dict
    custom_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Media:
    payload: bytes
    timestamp_ms: int
    sequence_number: int


@dataclass(slots=True)
class Mark:
    name: str


@dataclass(slots=True)
class Dtmf:
    digit: str


@dataclass(slots=True)
class Stop:
    call_sid: str


TwilioEvent = Connected | Start | Media | Mark | Dtmf | Stop

KNOWN_EVENTS = frozenset({"connected", "start", "media", "mark", "dtmf", "stop"})


def _field(obj: dict, key: str, event: str) -> object:
    value = obj.get(key)
    if value is None:
        raise TwilioProtocolError("missing_field", f"'{event}' message without '{key}'")
    return value


def _int(value: object) -> int:
    try:
        return int(value)  # Twilio sends numbers as strings
    except (TypeError, ValueError):
        return 0


def parse_message(data: str | bytes, *, started: bool) -> TwilioEvent:
    """Parse one Twilio message. `started` says whether `start` was already seen."""
    if isinstance(data, (bytes, bytearray)):
        raise TwilioProtocolError("binary", "Twilio sends text frames only")
    if len(data) > MAX_MESSAGE_BYTES:
        raise TwilioProtocolError("too_large", f"{len(data)} bytes > {MAX_MESSAGE_BYTES}")
    try:
        message = json.loads(data)
    except ValueError as exc:
        raise TwilioProtocolError("bad_json", str(exc)) from None
    if not isinstance(message, dict):
        raise TwilioProtocolError("not_an_object", type(message).__name__)
    event = message.get("event")

    if event == "media":
        if not started:
            raise TwilioProtocolError("media_before_start")
        media = message.get("media")
        if not isinstance(media, dict):
            raise TwilioProtocolError("missing_field", "'media' message without 'media'")
        payload = media.get("payload")
        if not isinstance(payload, str):
            raise TwilioProtocolError("missing_field", "'media' message without 'payload'")
        try:
            audio = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise TwilioProtocolError("bad_base64", "media payload is not base64") from None
        return Media(audio, _int(media.get("timestamp")), _int(message.get("sequenceNumber")))
    if event == "mark":
        mark = _field(message, "mark", "mark")
        name = mark.get("name") if isinstance(mark, dict) else None
        if not isinstance(name, str):
            raise TwilioProtocolError("missing_field", "'mark' message without 'mark.name'")
        return Mark(name)
    if event == "dtmf":
        dtmf = _field(message, "dtmf", "dtmf")
        digit = dtmf.get("digit") if isinstance(dtmf, dict) else None
        if not isinstance(digit, str) or len(digit) != 1 or digit not in "0123456789*#":
            raise TwilioProtocolError("missing_field", "'dtmf' message without a valid digit")
        return Dtmf(digit)
    if event == "start":
        if started:
            raise TwilioProtocolError("duplicate_start")
        start = _field(message, "start", "start")
        if not isinstance(start, dict):
            raise TwilioProtocolError("missing_field", "'start' is not an object")
        params = start.get("customParameters") or {}
        return Start(
            stream_sid=str(_field(start, "streamSid", "start")),
            call_sid=str(_field(start, "callSid", "start")),
            account_sid=str(start.get("accountSid") or ""),
            tracks=list(start.get("tracks") or ["inbound"]),
            media_format=dict(start.get("mediaFormat") or {}),
            custom_parameters={str(k): str(v) for k, v in params.items()}
            if isinstance(params, dict)
            else {},
        )
    if event == "stop":
        stop = message.get("stop") or {}
        return Stop(call_sid=str(stop.get("callSid", "")) if isinstance(stop, dict) else "")
    if event == "connected":
        return Connected(str(message.get("protocol", "")), str(message.get("version", "")))
    raise TwilioProtocolError("unknown_event", repr(event)[:40])


def media_message(stream_sid: str, ulaw: bytes) -> str:
    """An outbound `media` message carrying mu-law 8 kHz audio."""
    payload = base64.b64encode(ulaw).decode("ascii")
    return f'{{"event":"media","streamSid":"{stream_sid}","media":{{"payload":"{payload}"}}}}'


def mark_message(stream_sid: str, name: str) -> str:
    """An outbound `mark`: Twilio echoes it once the audio sent before it has played."""
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    """An outbound `clear`: Twilio drops its buffered audio and echoes pending marks."""
    return json.dumps({"event": "clear", "streamSid": stream_sid})

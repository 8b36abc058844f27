"""What the emulator reads from our server's answers: a `<Connect><Stream>` TwiML answer, and
the errors when an answer is not what Twilio would accept (agent/sim/emulator.py raises them).

    EmulatorError                 base class
    ├── WebhookError              the webhook did not answer 200 (.status, .body)
    ├── TwiMLError                the answer is not a usable <Connect><Stream> (.twiml)
    └── StreamConnectError        the WebSocket upgrade was refused (.status)
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit


class EmulatorError(Exception):
    """The call could not be placed the way Twilio would place it."""


class WebhookError(EmulatorError):
    """The voice webhook answered something other than 200."""

    def __init__(self, status: int, body: str, url: str) -> None:
        super().__init__(f"webhook {url} answered HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body
        self.url = url


class TwiMLError(EmulatorError):
    """The webhook's answer is not TwiML that connects a bidirectional Media Stream."""

    def __init__(self, message: str, twiml: str) -> None:
        super().__init__(f"{message}; got: {twiml[:300]!r}")
        self.twiml = twiml


class StreamConnectError(EmulatorError):
    """The server refused the Media Streams WebSocket upgrade."""

    def __init__(self, status: int | None, url: str, reason: str = "") -> None:
        super().__init__(f"WebSocket upgrade to {url} refused: HTTP {status} {reason}".rstrip())
        self.status = status
        self.url = url


def parse_twiml(twiml: str, allow_ws: bool = False) -> tuple[str, dict[str, str]]:
    """The ``<Stream url>`` and its ``<Parameter>`` name/value pairs from a TwiML answer.

    ``allow_ws`` also accepts ``ws://`` (Twilio would not): a server on this machine without
    PUBLIC_HOST answers with one, and ``python -m agent call`` still talks to it."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError as exc:
        raise TwiMLError(f"TwiML is not well-formed XML ({exc})", twiml) from None
    stream = root.find("./Connect/Stream") if root.tag == "Response" else None
    if stream is None:
        raise TwiMLError("expected <Response><Connect><Stream url=...>", twiml)
    url = stream.get("url", "")
    parts = urlsplit(url)
    # Twilio only opens wss:// streams, and rejects query strings (custom values go in
    # <Parameter>): errors 31910 and 31920 in Twilio's docs.
    if parts.scheme not in (("wss", "ws") if allow_ws else ("wss",)) or not parts.netloc:
        raise TwiMLError(f"<Stream url> must be an absolute wss:// URL, not {url!r}", twiml)
    if parts.query:
        raise TwiMLError("<Stream url> must not have a query string; use <Parameter>", twiml)
    params = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return url, params

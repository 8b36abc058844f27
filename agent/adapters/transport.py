"""Private names of pipecat's transport area (and of aiohttp's WebSocket reader), in one place.

agent/twilio/ subclasses pipecat's BaseTransport and reads aiohttp's WebSocket; where
pipecat 1.14 or aiohttp 3.14 has no public hook for what it needs, the private name is
used here and nowhere else, and tests/adapters/test_transport_adapter.py pins the
behaviour relied on, so an upgrade that changes it fails there first.

- Declaring and firing the transport's own events goes through agent/adapters/events.py,
  like every processor's.
- `ws_has_waiting_message`: whether aiohttp's WebSocket reader already holds a message
  (`WebSocketResponse._reader._buffer`), so the next `receive()` returns without waiting
  (agent/twilio/transport.py batches caller audio that is already waiting). If aiohttp
  changes it, this says False: caller audio then goes in 60 ms frames, never lost.
"""

from __future__ import annotations

from aiohttp import web


def ws_has_waiting_message(ws: web.WebSocketResponse) -> bool:
    """Whether a message is already waiting in `ws`'s reader (False if unknown)."""
    return bool(getattr(getattr(ws, "_reader", None), "_buffer", None))

"""Private names of pipecat's transport area (and of aiohttp's WebSocket reader), in one place.

agent/twilio/ subclasses pipecat's BaseTransport and reads aiohttp's WebSocket; where
pipecat 1.14 or aiohttp 3.14 has no public hook for what it needs, the private name is
used here and nowhere else, and tests/adapters/test_transport_adapter.py pins the
behaviour relied on, so an upgrade that changes it fails there first.

- `register_event` / `call_event`: pipecat's `BaseObject._register_event_handler` and
  `_call_event_handler`. Adding handlers is public (`event_handler`, `add_event_handler`),
  declaring and firing an event of one's own is not.
- `ws_has_waiting_message`: whether aiohttp's WebSocket reader already holds a message
  (`WebSocketResponse._reader._buffer`), so the next `receive()` returns without waiting
  (agent/twilio/transport.py batches caller audio that is already waiting). If aiohttp
  changes it, this says False: caller audio then goes in 60 ms frames, never lost.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pipecat.utils.base_object import BaseObject


def register_event(owner: BaseObject, name: str) -> None:
    """Declare event `name` on `owner`, so `event_handler(name)` can subscribe to it."""
    owner._register_event_handler(name)


async def call_event(owner: BaseObject, name: str, *args: Any) -> None:
    """Fire event `name` of `owner` (each handler runs in a task of its own)."""
    await owner._call_event_handler(name, *args)


def ws_has_waiting_message(ws: web.WebSocketResponse) -> bool:
    """Whether a message is already waiting in `ws`'s reader (False if unknown)."""
    return bool(getattr(getattr(ws, "_reader", None), "_buffer", None))

"""The one place where aiohttp's WebSocket meets pipecat.

`WebSocketBridge` wraps an aiohttp `web.WebSocketResponse` with the three operations the
transport needs (receive, send, close), hides aiohttp's message types, and makes sending to
a closed socket a no-op instead of an exception: the caller may hang up at any moment and
that must never crash a pipeline.
"""

from __future__ import annotations

import asyncio

from aiohttp import WSCloseCode, WSMsgType, web
from loguru import logger

CLOSE_TIMEOUT_S = 0.5


class WebSocketBridge:
    """Receive/send/close over an aiohttp server-side WebSocket."""

    def __init__(self, ws: web.WebSocketResponse):
        self._ws = ws
        self._closing = False
        self.error_reason: str | None = None  # why the socket failed, when it did

    @property
    def is_open(self) -> bool:
        return not (self._closing or self._ws.closed)

    async def receive(self, timeout: float | None = None) -> str | bytes | None:
        """Next text or binary message; None once the socket is closed or failed."""
        while True:
            msg = await self._ws.receive(timeout=timeout)
            if msg.type == WSMsgType.TEXT:
                return msg.data
            if msg.type == WSMsgType.BINARY:
                return msg.data
            if msg.type == WSMsgType.ERROR:
                # aiohttp closes with 1009 for a frame above max_msg_size
                too_big = getattr(msg.data, "code", None) == WSCloseCode.MESSAGE_TOO_BIG
                self.error_reason = "too_large" if too_big else "socket_error"
                return None
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return None
            # PING/PONG are answered by aiohttp (autoping); nothing to hand over.

    def has_pending(self) -> bool:
        """Whether a message is already waiting, so `receive` returns without waiting (reads
        aiohttp's reader queue; False if its internals change)."""
        return bool(getattr(getattr(self._ws, "_reader", None), "_buffer", None))

    async def send(self, text: str) -> bool:
        """Send a text message; False when the socket is gone (never raises)."""
        if not self.is_open:
            return False
        try:
            await self._ws.send_str(text)
        except (ConnectionError, RuntimeError) as exc:
            logger.debug(f"websocket send failed: {exc.__class__.__name__}")
            return False
        return True

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        """Close, waiting at most CLOSE_TIMEOUT_S for the peer's acknowledgement."""
        if self._closing:
            return
        self._closing = True
        if self._ws.closed:
            return
        close = asyncio.ensure_future(self._ws.close(code=code, message=message))
        done, _ = await asyncio.wait({close}, timeout=CLOSE_TIMEOUT_S)
        if not done:
            close.add_done_callback(lambda t: t.cancelled() or t.exception())

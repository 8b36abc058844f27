"""The one place where aiohttp's WebSocket meets pipecat.

`WebSocketBridge` wraps an aiohttp `web.WebSocketResponse` with the operations the
transport needs (receive, send, close), hides aiohttp's message types, and makes sending to
a closed socket a no-op instead of an exception: the caller may hang up at any moment and
that must never crash a pipeline.

Sends go through the call's `Outlet` on the process's `SendClock`, which writes to the
request's asyncio transport instead of aiohttp's writer: `send_at` queues a message for a
given time, `send` goes after what is queued (at once when nothing is), `drop_unsent`
forgets what is queued (a barge-in), and `close` drains the outlet before aiohttp's closing
handshake. agent/twilio/send_clock.py says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import WSCloseCode, WSMsgType, web

from agent.adapters.transport import ws_has_waiting_message
from agent.twilio.send_clock import Outlet, SendClock, text_frame

CLOSE_TIMEOUT_S = 0.5


class WebSocketBridge:
    """Receive/send/close over an aiohttp server-side WebSocket."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        clock: SendClock,
        transport: asyncio.WriteTransport,
    ):
        self._ws = ws
        self._closing = False
        self.error_reason: str | None = None  # why the socket failed, when it did
        # The request's transport (`request.transport`), written directly by the clock.
        self.outlet: Outlet = clock.open(transport)

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
                self.outlet.close()  # nothing may follow aiohttp's reply to the close
                return None
            # PING/PONG are answered by aiohttp (autoping); nothing to hand over.

    def has_pending(self) -> bool:
        """Whether a message is already waiting, so `receive` returns without waiting."""
        return ws_has_waiting_message(self._ws)

    def send(self, text: str) -> bool:
        """Send a text message after what is queued; False when the socket is gone."""
        if not self.is_open:
            return False
        return self.outlet.send(text_frame(text))

    def send_at(
        self,
        text: str,
        at: float,
        *,
        due: float | None = None,
        on_lateness: Callable[[float], None] | None = None,
    ) -> bool:
        """Queue a message for time `at` on the send clock; `due`: it is paced audio
        (`Outlet.send`)."""
        if not self.is_open:
            return False
        return self.outlet.send(text_frame(text), at, due=due, on_lateness=on_lateness)

    def drop_unsent(self) -> int:
        """Forget queued messages not yet written; how many were audio."""
        return self.outlet.drop_unsent()

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        """Close, waiting at most CLOSE_TIMEOUT_S for the peer's acknowledgement."""
        if self._closing:
            return
        self._closing = True
        # What is queued goes first, then aiohttp's close frame: whole frames, in order.
        if not self._ws.closed:
            await self.outlet.drain(CLOSE_TIMEOUT_S)
        self.outlet.close()
        if self._ws.closed:
            return
        close = asyncio.ensure_future(self._ws.close(code=code, message=message))
        done, _ = await asyncio.wait({close}, timeout=CLOSE_TIMEOUT_S)
        if not done:
            close.add_done_callback(lambda t: t.cancelled() or t.exception())

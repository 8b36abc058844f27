"""One timer per process that writes every call's paced audio to its socket on time.

The pacer hands its chunks over ahead of time (`Outlet.send` with the time each is due, a
batch of ~0.1 s about ten times a second), and this clock's single 20 ms timer writes, in
order, what falls due before its next tick: audio leaves at most one tick early (Twilio's
buffer holds the pacer's lead plus up to 20 ms), and late by as much as the loop delays
that one timer. One timer for every call instead of one wake-up per call per 20 ms chunk
(docs/decisions/send-clock.md: why, and what was measured and tried).

Writes go to the call's asyncio transport as whole WebSocket frames, in the loop's thread,
so they interleave safely with aiohttp's own (its closing handshake). Every text message of
the call goes through the outlet (immediate ones are written at once when nothing is
queued ahead), so the peer sees them in order. A peer that stops reading fills the
transport's buffer; past MAX_UNSENT_BYTES the outlet gives up (`broken`), like a closed
socket.

Time comes from an injected clock (processors/clock.py): the event loop's in a server,
a fake one in tests.
"""

from __future__ import annotations

import asyncio
import struct
import weakref
from collections import deque
from collections.abc import Callable

from loguru import logger

from processors.clock import LOOP_CLOCK, Clock, Timer

TICK_S = 0.02
# About a minute of a call's audio (~15 KB/s): a peer that reads nothing that long is gone.
MAX_UNSENT_BYTES = 1 << 20

# (time to write at, or None for "after what is ahead"; the frame; lateness callback or
# None; when audio was due, None for other messages)
_Item = tuple[float | None, bytes, Callable[[float], None] | None, float | None]


def text_frame(text: str) -> bytes:
    """A server-to-client (unmasked, uncompressed) WebSocket text frame (RFC 6455 5.2)."""
    data = text.encode()
    size = len(data)
    if size < 126:
        return bytes((0x81, size)) + data
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + data
    return struct.pack("!BBQ", 0x81, 127, size) + data


class Outlet:
    """One call's ordered, timed writes to its transport."""

    def __init__(self, clock: SendClock, transport: asyncio.WriteTransport):
        self._clock = clock
        self._now = clock.clock.now
        self._transport = transport
        self._queue: deque[_Item] = deque()
        self.broken = False
        self.closed = False

    def send(
        self,
        frame: bytes,
        at: float | None = None,
        *,
        due: float | None = None,
        on_lateness: Callable[[float], None] | None = None,
    ) -> bool:
        """Queue `frame` to be written at `at` (the clock's time), after everything queued
        before it; a frame already due (or `at=None`) with nothing ahead is written at once.
        A frame with a `due` time is paced audio: `drop_unsent` counts it, and
        `on_lateness(seconds)` is called when it is written with how long after `due` that
        was. False when the outlet is closed or broken."""
        if self.broken or self.closed:
            return False
        if not self._queue:
            now = self._now()
            if at is None or at <= now:
                self._write(frame)
                if on_lateness is not None and due is not None:
                    on_lateness(max(0.0, now - due))
                return not self.broken
        self._queue.append((at, frame, on_lateness, due))
        self._clock._wake(self)
        return True

    def drop_unsent(self) -> int:
        """Forget every queued frame (a barge-in); returns how many were audio."""
        dropped = sum(1 for item in self._queue if item[3] is not None)
        self._queue.clear()
        return dropped

    @property
    def pending(self) -> bool:
        return bool(self._queue) and not (self.broken or self.closed)

    async def drain(self, timeout: float) -> bool:
        """Wait until everything queued is written (or the outlet broke); True if it was."""
        clock = self._clock.clock
        deadline = clock.now() + timeout
        while self.pending:
            if clock.now() >= deadline:
                return False
            await clock.sleep(self._clock.tick_s)
        return not self.broken

    def close(self) -> None:
        """Stop writing (idempotent); what is still queued is dropped."""
        self.closed = True
        self._queue.clear()
        self._clock._forget(self)

    def write_due(self, until: float, now: float) -> None:
        """Write, in order, every frame due by `until` (the clock's tick)."""
        queue = self._queue
        frames: list[bytes] = []
        while queue and (queue[0][0] is None or queue[0][0] <= until):
            _at, frame, on_lateness, due = queue.popleft()
            frames.append(frame)
            if on_lateness is not None and due is not None:
                on_lateness(max(0.0, now - due))
        if frames:
            self._write(b"".join(frames) if len(frames) > 1 else frames[0])

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport.is_closing():  # the peer is gone: like sending to a closed WebSocket
            self.broken = True
        elif transport.get_write_buffer_size() > MAX_UNSENT_BYTES:
            logger.warning("send clock: the peer reads nothing; giving up on its socket")
            self.broken = True
        else:
            transport.write(data)
            return
        self._queue.clear()
        self._clock._forget(self)


class SendClock:
    """The process's send timer: ticks every TICK_S while any outlet has frames queued, and
    visits only those."""

    def __init__(self, tick_s: float = TICK_S, clock: Clock = LOOP_CLOCK):
        self.tick_s = tick_s
        self.clock = clock
        self._busy: set[Outlet] = set()  # outlets with frames queued: the ones a tick visits
        self._timer: Timer | None = None
        self._next_tick = 0.0
        self.ticks = 0

    def open(self, transport: asyncio.WriteTransport) -> Outlet:
        return Outlet(self, transport)

    def _forget(self, outlet: Outlet) -> None:
        self._busy.discard(outlet)

    def _wake(self, outlet: Outlet) -> None:
        self._busy.add(outlet)
        if self._timer is None:
            # Keep the grid while ticking; start a fresh one after an idle spell.
            self._next_tick = max(self._next_tick, self.clock.now())
            self._schedule()

    def _schedule(self) -> None:
        delay = max(0.0, self._next_tick - self.clock.now())
        self._timer = self.clock.call_later(delay, self._tick)

    def _tick(self) -> None:
        self._timer = None
        now = self.clock.now()
        self.ticks += 1
        # What falls due before the next tick on the grid goes now. The grid, not `now`:
        # a timer fires up to a millisecond early or late, and a chunk due right at a tick
        # would otherwise flip between ticks, arriving in pairs and gaps.
        until = max(now, self._next_tick + self.tick_s)
        for outlet in tuple(self._busy):
            try:
                outlet.write_due(until, now)
            except Exception:  # one call's fault must not stop every call's audio
                logger.exception("send clock: writing one outlet failed")
                outlet.close()
            if not outlet.pending:
                self._busy.discard(outlet)
        self._next_tick += self.tick_s
        if self._next_tick <= now:  # fell behind by more than a tick: no burst
            self._next_tick = now + self.tick_s
        if self._busy:
            self._schedule()


_clocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SendClock] = (
    weakref.WeakKeyDictionary()
)


def loop_clock() -> SendClock:
    """The running event loop's clock (the server has one loop: one clock per process)."""
    loop = asyncio.get_running_loop()
    clock = _clocks.get(loop)
    if clock is None:
        clock = _clocks[loop] = SendClock()
    return clock

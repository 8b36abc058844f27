"""agent/twilio/send_clock.py: one timer writes every call's queued frames in order, at their time,
as WebSocket frames a real client reads; a barge-in drops what is queued; a dead or stuck
peer breaks only its own outlet. On a fake clock (processors/clock.py): no test sleeps."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from agent.twilio.send_clock import MAX_UNSENT_BYTES, TICK_S, SendClock, loop_clock, text_frame
from agent.twilio.ws_bridge import WebSocketBridge
from processors.clock import LOOP_CLOCK, FakeClock


class RecordingTransport:
    """An asyncio write transport that records when each write happened."""

    def __init__(self, clock: FakeClock, *, buffered: int = 0, fail: bool = False):
        self.clock = clock
        self.writes: list[tuple[float, bytes]] = []
        self.closing = False
        self.buffered = buffered
        self.fail = fail

    def write(self, data: bytes) -> None:
        if self.fail:
            raise RuntimeError("broken transport")
        self.writes.append((self.clock.now(), data))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.buffered

    @property
    def data(self) -> bytes:
        return b"".join(d for _, d in self.writes)


def frame_texts(data: bytes) -> list[str]:
    """Split our unmasked text frames back into their texts."""
    texts = []
    while data:
        assert data[0] == 0x81
        size, start = data[1], 2
        if size == 126:
            size, start = int.from_bytes(data[2:4], "big"), 4
        elif size == 127:
            size, start = int.from_bytes(data[2:10], "big"), 10
        texts.append(data[start : start + size].decode())
        data = data[start + size :]
    return texts


@asynccontextmanager
async def ws_server(handler):
    """An aiohttp server on 127.0.0.1 with `handler` at /ws; yields the socket's URL."""
    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/ws"
    finally:
        await runner.cleanup()


def fake() -> tuple[FakeClock, SendClock]:
    clock = FakeClock()
    return clock, SendClock(clock=clock)


async def test_a_due_frame_with_nothing_ahead_is_written_at_once():
    clock, sender = fake()
    transport = RecordingTransport(clock)
    outlet = sender.open(transport)
    assert outlet.send(text_frame("now"))  # no await: written before the call returns
    assert outlet.send(text_frame("past"), clock.now() - 1)
    assert frame_texts(transport.data) == ["now", "past"]


async def test_frames_go_at_their_time_in_order_and_the_clock_then_stops():
    clock, sender = fake()
    transport = RecordingTransport(clock)
    outlet = sender.open(transport)
    start = clock.now()
    lateness: list[float] = []
    for n in range(10):  # 20 ms apart, from 100 ms on
        at = start + 0.1 + n * 0.02
        outlet.send(text_frame(f"c{n}"), at, due=at, on_lateness=lateness.append)
    outlet.send(text_frame("mark"))  # `at=None` behind queued frames: goes after them
    assert transport.writes == []
    await clock.advance(0.45)
    assert frame_texts(transport.data) == [*(f"c{n}" for n in range(10)), "mark"]
    # Each tick writes what falls due before the next: never more than a tick early.
    sent_by = {}
    for t, data in transport.writes:
        for text in frame_texts(data):
            sent_by[text] = t
    for n in range(10):
        assert sent_by[f"c{n}"] >= start + 0.1 + n * 0.02 - TICK_S - 1e-9
        assert sent_by[f"c{n}"] <= start + 0.1 + n * 0.02 + 1e-9  # and never late on time
    assert len(lateness) == 10 and min(lateness) >= 0.0
    ticks = sender.ticks
    await clock.advance(0.1)
    assert sender.ticks == ticks and clock.next_due() is None  # nothing queued: no timer


async def test_lateness_counts_from_due_not_from_the_hand_over():
    clock, sender = fake()
    outlet = sender.open(RecordingTransport(clock))
    late: list[float] = []
    now = clock.now()
    outlet.send(text_frame("ahead"), now + 0.05)
    # Due 0.2 s ago (the TTS was behind), queued behind a frame: as late as that, at least.
    outlet.send(text_frame("late"), now + 0.05, on_lateness=late.append, due=now - 0.2)
    await clock.advance(0.15)
    assert len(late) == 1 and late[0] >= 0.2


async def test_drop_unsent_forgets_the_queue_and_what_follows_goes_at_once():
    clock, sender = fake()
    transport = RecordingTransport(clock)
    outlet = sender.open(transport)
    at = clock.now() + 0.2
    for n in range(5):
        outlet.send(text_frame(f"c{n}"), at + n * 0.02, due=at + n * 0.02)
    outlet.send(text_frame("mark"), at + 0.1)  # no due time: not audio
    assert outlet.drop_unsent() == 5
    outlet.send(text_frame("clear"))
    await clock.advance(0.35)
    assert frame_texts(transport.data) == ["clear"]


async def test_a_closing_transport_breaks_its_outlet_and_only_it():
    clock, sender = fake()
    gone, alive = RecordingTransport(clock), RecordingTransport(clock)
    dead, live = sender.open(gone), sender.open(alive)
    at = clock.now() + 0.05
    dead.send(text_frame("a"), at)
    live.send(text_frame("b"), at)
    gone.closing = True  # the caller hung up
    await clock.advance(0.12)
    assert dead.broken and gone.writes == []
    assert not dead.send(text_frame("more"))
    assert frame_texts(alive.data) == ["b"]
    ticks = sender.ticks
    await clock.advance(0.06)
    assert sender.ticks == ticks  # the broken outlet keeps no timer running


async def test_a_peer_that_reads_nothing_breaks_its_outlet():
    clock, sender = fake()
    stuck = RecordingTransport(clock, buffered=MAX_UNSENT_BYTES + 1)
    outlet = sender.open(stuck)
    assert not outlet.send(text_frame("x"))
    assert outlet.broken and stuck.writes == []


async def test_one_outlet_failing_does_not_stop_the_others():
    clock, sender = fake()
    bad, good = RecordingTransport(clock, fail=True), RecordingTransport(clock)
    first, second = sender.open(bad), sender.open(good)
    at = clock.now() + 0.03
    first.send(text_frame("a"), at)
    second.send(text_frame("b"), at)
    await clock.advance(0.1)
    assert first.closed and frame_texts(good.data) == ["b"]


async def test_close_drops_what_is_queued():
    clock, sender = fake()
    transport = RecordingTransport(clock)
    outlet = sender.open(transport)
    outlet.send(text_frame("later"), clock.now() + 0.05)
    outlet.close()
    await clock.advance(0.1)
    assert transport.writes == [] and not outlet.send(text_frame("x"))


async def test_drain_waits_for_the_queue_on_the_clock_and_gives_up_at_its_timeout():
    clock, sender = fake()
    transport = RecordingTransport(clock)
    outlet = sender.open(transport)
    outlet.send(text_frame("soon"), clock.now() + 0.1)
    assert await clock.run_until(outlet.drain(1.0)) and frame_texts(transport.data) == ["soon"]
    outlet.send(text_frame("late"), clock.now() + 5)
    start = clock.now()
    assert not await clock.run_until(outlet.drain(0.3))
    assert 0.3 <= clock.now() - start < 0.3 + 2 * TICK_S


async def test_a_real_client_reads_every_frame_size_in_order_and_the_close_after_them():
    """Through aiohttp on both ends: short, 16-bit and 64-bit length frames, queued on the
    clock, then `close` drains them before aiohttp's closing handshake."""
    texts = ["short", "m" * 300, "L" * 70_000, json.dumps({"event": "mark"})]
    clock = FakeClock()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        bridge = WebSocketBridge(ws, SendClock(clock=clock), request.transport)
        at = clock.now() + 0.1
        for n, text in enumerate(texts[:-1]):
            assert bridge.send_at(text, at + n * 0.02)
        assert bridge.send(texts[-1])  # after the queued ones
        await clock.run_until(bridge.close())
        return ws

    async with ws_server(handler) as url, aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            received = [msg.data async for msg in ws]
            assert ws.close_code == 1000
    assert received == texts


async def test_a_tick_that_fires_early_still_sends_its_whole_slot():
    """Timers fire up to a millisecond early: a chunk due just before the next grid tick
    must still go in this one, or chunks near a tick flip between ticks (pairs and gaps)."""
    clock, sender = fake()
    transport = RecordingTransport(clock)
    outlet = sender.open(transport)
    now = clock.now()
    outlet.send(text_frame("slot"), now + 0.0015 + TICK_S - 0.0005, due=now)
    sender._next_tick = now + 0.0015  # this tick was due 1.5 ms from now: it fired early
    sender._tick()
    assert frame_texts(transport.data) == ["slot"]
    outlet.close()


async def test_the_peers_close_closes_the_outlet():
    """Once the caller's side has closed, nothing queued may follow aiohttp's reply."""
    outcome: dict = {}
    done = asyncio.Event()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        clock = FakeClock()
        bridge = WebSocketBridge(ws, SendClock(clock=clock), request.transport)
        bridge.send_at("later", clock.now() + 5)
        outcome["received"] = await bridge.receive()
        outcome["outlet_closed"] = bridge.outlet.closed
        done.set()
        return ws

    async with ws_server(handler) as url:
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.close()
        await asyncio.wait_for(done.wait(), 5)
    assert outcome == {"received": None, "outlet_closed": True}


async def test_the_process_clock_runs_on_the_event_loop():
    assert loop_clock() is loop_clock() and loop_clock().clock is LOOP_CLOCK

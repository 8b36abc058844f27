"""The Live page's feed: one broadcaster per process, fed by the call sessions, read by viewers.

`LiveBoard` is the process's CallWatcher (agent/app/call_watch.py): call sessions tell it
when a call starts, each turn as it ends and when the call ends. It keeps the live calls
(a few dicts each) and encodes each change once as a server-sent event; every viewer of
`GET /dashboard/live/events` gets the bytes through its own bounded queue. The call path
pays a dict update and one JSON encoding per turn whether 0 or 20 viewers watch, never a
database query; a viewer too slow to keep up is dropped (its browser reconnects and gets
a fresh snapshot) instead of holding memory; at most MAX_VIEWERS at once.

Server-sent events rather than a WebSocket: the feed goes one way, EventSource reconnects
by itself, and it is a plain GET behind the session cookie (docs/decisions/dashboard.md).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from aiohttp import web

from agent.app.call_watch import WatchedCall
from agent.dashboard.auth import require_feed
from agent.records.turns import Turn

MAX_VIEWERS = 20
QUEUE_EVENTS = 256  # per viewer; beyond it the viewer is dropped and reconnects
HEARTBEAT_S = 15.0


def turn_dict(turn: Turn) -> dict:
    return {
        "seq": turn.seq,
        "role": turn.role,
        "text": turn.text,
        "heard_text": turn.heard_text,
        "interrupted": turn.interrupted,
        "source": turn.source,
        "route": turn.route,
        "latency_ms": turn.latency_ms,
        "failure": turn.failure,
    }


@dataclass
class LiveEntry:
    call: WatchedCall
    turns: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**asdict(self.call), "turns": self.turns}


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class LiveBoard:
    """The live calls of this process, and the viewers watching them."""

    def __init__(
        self,
        max_viewers: int = MAX_VIEWERS,
        queue_events: int = QUEUE_EVENTS,
        redact: Callable[[str], str] | None = None,
    ):
        """`redact`: applied to every turn's words before they are kept or shown, so Live
        masks what the stored record masks (RECORDS_REDACT)."""
        self._redact = redact
        self.calls: dict[str, LiveEntry] = {}
        self._viewers: set[asyncio.Queue[bytes | None]] = set()
        self._max_viewers = max_viewers
        self._queue_events = queue_events
        self.dropped_viewers = 0

    # --- CallWatcher -------------------------------------------------------------------

    def call_started(self, call: WatchedCall) -> None:
        entry = LiveEntry(call)
        self.calls[call.call_sid] = entry
        self._publish("call", entry.as_dict())

    def call_turn(self, call_sid: str, turn: Turn) -> None:
        entry = self.calls.get(call_sid)
        if entry is None:
            return
        data = turn_dict(turn)
        if self._redact is not None:
            for key in ("text", "heard_text"):
                if data[key]:
                    data[key] = self._redact(data[key])
        entry.turns.append(data)
        self._publish("turn", {"call_sid": call_sid, "turn": data})

    def call_ended(self, call_sid: str, outcome: str) -> None:
        if self.calls.pop(call_sid, None) is not None:
            self._publish("ended", {"call_sid": call_sid, "outcome": outcome})

    # --- viewers -----------------------------------------------------------------------

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    def _publish(self, name: str, data: dict) -> None:
        if not self._viewers:
            return
        message = _event(name, data)  # encoded once for every viewer
        for queue in list(self._viewers):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self._drop(queue)

    def _drop(self, queue: asyncio.Queue) -> None:
        self._viewers.discard(queue)
        self.dropped_viewers += 1
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)  # the viewer's stream ends; EventSource reconnects

    def subscribe(self) -> asyncio.Queue[bytes | None] | None:
        """A new viewer's queue, primed with a snapshot; None when MAX_VIEWERS watch."""
        if len(self._viewers) >= self._max_viewers:
            return None
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(self._queue_events)
        snapshot = [entry.as_dict() for entry in self.calls.values()]
        queue.put_nowait(_event("snapshot", {"calls": snapshot}))
        self._viewers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._viewers.discard(queue)

    def close(self) -> None:
        """The server is shutting down: end every viewer's stream."""
        for queue in list(self._viewers):
            self._drop(queue)


BOARD = web.AppKey("dashboard_live_board", LiveBoard)


async def events(request: web.Request) -> web.StreamResponse:
    """`GET /dashboard/live/events`: the live calls as server-sent events (401 logged out)."""
    require_feed(request)
    board = request.app[BOARD]
    queue = board.subscribe()
    if queue is None:
        raise web.HTTPServiceUnavailable(
            text=f"{MAX_VIEWERS} viewers already watch", headers={"Retry-After": "10"}
        )
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx and Heroku's router: do not buffer
        }
    )
    try:
        await response.prepare(request)
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except TimeoutError:
                message = b": keep-alive\n\n"
            if message is None:
                break
            await response.write(message)
    except ConnectionResetError:
        pass  # the viewer left
    finally:
        board.unsubscribe(queue)
    return response

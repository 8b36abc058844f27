"""Watching live calls from inside the process: the typed seam between call sessions and
whatever shows them (the dashboard's live board, agent/dashboard/live.py).

A `CallWatcher` is bound explicitly in `Services.watchers` (the dashboard does it when
ADMIN_TOKEN is set). The call session tells each watcher when a call starts, each turn the
moment it ends (the call's TurnTracker, agent/records/turns.py, the same source the call
record is written from) and when it ends. Watchers are called on the event loop from the
call's own task, so they must be quick and must not raise; `notify` keeps a failing one
from touching the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from loguru import logger

from agent.records.turns import Turn


@dataclass(frozen=True)
class WatchedCall:
    """A call that has started: what a watcher may show about it."""

    call_sid: str
    graph: str
    from_number: str | None
    to_number: str | None
    started_at: float  # epoch seconds (a call back from a transfer: the call's own start)
    transfers: tuple[str, ...] = ()  # the graph's transfer destinations, by name


class CallWatcher(Protocol):
    def call_started(self, call: WatchedCall) -> None: ...

    def call_turn(self, call_sid: str, turn: Turn) -> None: ...

    def call_ended(self, call_sid: str, outcome: str) -> None: ...


def notify(watchers: list[CallWatcher], tell: Callable[[CallWatcher], None]) -> None:
    """Tell every watcher; one that raises is logged and never reaches the call."""
    for watcher in watchers:
        try:
            tell(watcher)
        except Exception:
            logger.exception(f"call watcher {watcher!r} failed")

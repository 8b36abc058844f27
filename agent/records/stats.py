"""What the dashboard's Health page draws, read from the records store (SQLite or Postgres):
calls per hour, the agent's answer latency p50/p95 per hour, and failed turns by stage.

Bounded by the window asked for (at most MAX_WINDOW): one query per series, rows bucketed by
the hour in Python, so the same code runs on both databases.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from agent.records import models as m
from agent.records.store import Store, utc

MAX_WINDOW = timedelta(days=7)


@dataclass
class HourStats:
    hour: datetime  # the hour's start (UTC)
    calls: int = 0
    latencies: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float | None:
        return percentile(self.latencies, q)


@dataclass
class Health:
    since: datetime
    until: datetime
    hours: list[HourStats]
    outcomes: Counter  # outcome (None: still going) -> calls
    failures: Counter  # (graph, stage, reason) -> turns

    @property
    def calls(self) -> int:
        return sum(h.calls for h in self.hours)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..1), nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]


def _hour(value: datetime) -> datetime:
    return utc(value).replace(minute=0, second=0, microsecond=0)


async def health(store: Store, since: datetime, until: datetime) -> Health:
    """The window [since, until), clipped to MAX_WINDOW before `until`."""
    since = max(since, until - MAX_WINDOW)
    hours: dict[datetime, HourStats] = {}
    at = _hour(since)
    while at < until:
        hours[at] = HourStats(at)
        at += timedelta(hours=1)
    in_window = (m.calls.c.started_at >= since) & (m.calls.c.started_at < until)
    calls_query = select(m.calls.c.started_at, m.calls.c.outcome).where(in_window)
    turns_query = (
        select(m.turns.c.started_at, m.turns.c.latency_ms, m.turns.c.failure, m.calls.c.graph)
        .join(m.calls, m.calls.c.call_sid == m.turns.c.call_sid)
        .where(in_window, m.turns.c.role == "agent")
    )
    outcomes: Counter = Counter()
    failures: Counter = Counter()
    async with store.snapshot() as conn:
        for started, outcome in (await conn.execute(calls_query)).all():
            outcomes[outcome] += 1
            if (bucket := hours.get(_hour(started))) is not None:
                bucket.calls += 1
        for started, latency, failure, graph in (await conn.execute(turns_query)).all():
            if failure:
                stage, _, reason = failure.partition(":")
                failures[(graph, stage, reason)] += 1
            bucket = hours.get(_hour(started)) if started is not None else None
            if latency is not None and bucket is not None:
                bucket.latencies.append(float(latency))
    return Health(since, until, list(hours.values()), outcomes, failures)

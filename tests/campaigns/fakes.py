"""Typed fakes of the outbound seam for the campaign tests, a virtual wall clock, and the
reminder campaign's settings the tests build on."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.campaigns.capacity import CallCapacity, NoLimit
from agent.campaigns.recovery import CallLookup, CallNow, FoundCall, LookupFailed
from agent.campaigns.retry import RetryPolicy
from agent.campaigns.store import CampaignSettings
from agent.campaigns.window import CallWindow
from agent.campaigns.worker import WorkerDeps
from agent.outbound.placing import (
    CallOutcome,
    CallOutcomes,
    CallPlacer,
    DialRefused,
    DialRequest,
    DncEntry,
    DoNotCall,
    PlacedCall,
)


class VirtualClock:
    """A WallClock whose `sleep` moves time on at once (after letting other tasks run)."""

    def __init__(self, start: datetime):
        self.at = start

    def now(self) -> datetime:
        return self.at

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(0)
        self.at += timedelta(seconds=delay)
        await asyncio.sleep(0)


@dataclass
class FakeCalls:
    """CallPlacer and CallOutcomes: each number's attempts end as scripted (default
    completed by a human) after `ring_s` of virtual time."""

    clock: VirtualClock
    script: dict[str, list[str]] = field(default_factory=dict)  # number -> status per attempt
    refuse: dict[str, str] = field(default_factory=dict)  # number -> DialRefused reason
    machine: set[str] = field(default_factory=set)  # answered by a voicemail
    ring_s: float = 5.0
    # numbers whose final status callback is lost: Twilio knows the end (`at_twilio`), the
    # records never hear of it unless someone records it (`status`)
    lost: set[str] = field(default_factory=set)
    recorded: list[tuple[str, str, float | None]] = field(default_factory=list)  # status()
    place_delay_s: float = 0.0  # the REST request's time (virtual)
    placed: list[DialRequest] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    live: int = 0
    most_live: int = 0
    _ends: dict[str, tuple[datetime, CallOutcome]] = field(default_factory=dict)
    _done: set[str] = field(default_factory=set)
    _lost: set[str] = field(default_factory=set)

    async def place(self, request: DialRequest) -> PlacedCall:
        if request.to in self.refuse:
            raise DialRefused(self.refuse[request.to], f"refused ({self.refuse[request.to]})")
        if self.place_delay_s:
            await self.clock.sleep(self.place_delay_s)
        self.placed.append(request)
        n = self.attempts[request.to]
        self.attempts[request.to] += 1
        statuses = self.script.get(request.to, ["completed"])
        status = statuses[min(n, len(statuses) - 1)]
        answered_by = None
        if status == "completed":
            answered_by = "machine" if request.to in self.machine else "human"
        sid = f"CA{len(self.placed):032d}"
        if request.to in self.lost:
            self._lost.add(sid)
        ends = self.clock.now() + timedelta(seconds=self.ring_s)
        self._ends[sid] = (ends, CallOutcome(status, answered_by, 12.0 if answered_by else None))
        self.live += 1
        self.most_live = max(self.most_live, self.live)
        return PlacedCall(sid, request.to, request.graph)

    async def outcome(self, call_sid: str) -> CallOutcome | None:
        ends, outcome = self._ends[call_sid]
        if self.clock.now() < ends:
            return None
        if call_sid in self._lost and not any(r[0] == call_sid for r in self.recorded):
            return None
        if call_sid not in self._done:
            self._done.add(call_sid)
            self.live -= 1
        return outcome

    async def status(self, call_sid: str, status: str, *, duration_s: float | None = None) -> None:
        self.recorded.append((call_sid, status, duration_s))

    async def amd(self, call_sid: str, answered_by: str) -> None:
        self.recorded.append((call_sid, f"amd:{answered_by}", None))

    def at_twilio(self, call_sid: str) -> CallNow:
        """The call as Twilio knows it now (whatever reached the records)."""
        ends, outcome = self._ends[call_sid]
        if self.clock.now() < ends:
            return CallNow("in-progress", None, None)
        return CallNow(outcome.status, outcome.duration_s, outcome.answered_by)

    def count(self, number: str) -> int:
        return sum(1 for r in self.placed if r.to == number)


@dataclass
class FakeLookup:
    """CallLookup: Twilio's view of FakeCalls' calls (`fail`: it cannot be asked)."""

    calls: FakeCalls
    fail: bool = False
    asked: list[tuple[str, datetime]] = field(default_factory=list)  # (sid, when)

    async def calls_to(self, number: str, since: datetime) -> list[FoundCall]:
        raise LookupFailed("not asked in these tests")

    async def call_now(self, call_sid: str) -> CallNow:
        self.asked.append((call_sid, self.calls.clock.now()))
        if self.fail:
            raise LookupFailed("HTTP 503")
        return self.calls.at_twilio(call_sid)


@dataclass
class FakeDnc:
    numbers: set[str] = field(default_factory=set)

    async def contains(self, number: str) -> bool:
        return number in self.numbers

    async def add(self, number: str, source: str) -> None:
        self.numbers.add(number)

    async def remove(self, number: str) -> bool:
        found = number in self.numbers
        self.numbers.discard(number)
        return found

    async def list(self) -> list[DncEntry]:
        return []


@dataclass
class FixedCapacity:
    free_now: int | None = None

    async def free(self) -> int | None:
        return self.free_now


def deps(
    engine,
    calls: FakeCalls,
    *,
    dnc: FakeDnc | None = None,
    capacity: CallCapacity | None = None,
    lookup: CallLookup | None = None,
) -> WorkerDeps:
    placer: CallPlacer = calls
    outcomes: CallOutcomes = calls
    do_not_call: DoNotCall = dnc or FakeDnc()
    return WorkerDeps(
        engine=engine,
        placer=placer,
        outcomes=outcomes,
        dnc=do_not_call,
        capacity=capacity or NoLimit(),
        lookup=lookup,
        clock=calls.clock,
        sleep=calls.clock.sleep,
    )


def reminder_settings(
    *,
    window: str = "00:00-24:00",
    timezone: str = "UTC",
    concurrency: int = 1,
    max_attempts: int = 3,
    retry_s: int = 60,
    source: str | None = None,
) -> CampaignSettings:
    """A campaign of the reminder graph; by default always open, one call at a time."""
    return CampaignSettings(
        graph="reminder",
        window=CallWindow.parse(window),
        timezone=timezone,
        concurrency=concurrency,
        policy=RetryPolicy(max_attempts, retry_s),
        source=source,
    )

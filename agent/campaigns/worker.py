"""The campaign loop: claim a due contact, check it, place its call, wait for its end.

One `CampaignWorker` per process (several may work one campaign through Postgres). Each
turn of the loop, while fewer than `concurrency` of its calls are in flight and MAX_CALLS
leaves room (capacity.py), it claims the contact due first (claims.py: committed as
`dialing` BEFORE the REST request) and hands it to a task that

    1. checks the do-not-call list (now, at claim time, not only at import): refused
    2. checks the callee's window again (a contact due at 19:59:59 is claimed at 20:00:01):
       not open: pending again at the next opening, the attempt not counted
    3. places the call (`CallPlacer`); a refusal (a missing variable, DNC ...) is final;
       a failed REST request is `failed` (it may have made a call: never retried)
    4. saves the call's sid (`calling`), then polls `CallOutcomes` until Twilio's final
       status is recorded: the contact's final state, or pending with its retry's time
       (retry.py). No final status ASK_TWILIO_AFTER_S after placing (the callback was
       lost): Twilio is asked (`CallLookup.call_now`), and again every
       ASK_TWILIO_EVERY_S; a final status it reports is recorded as its callback would
       have been. None within `outcome_timeout_s`: `unknown`

`stop()` (SIGTERM, Ctrl-C) stops claiming; the REST requests in flight finish and their
sids are saved; the calls in progress are left `calling` and released, for `campaign resume`
to watch. Anything committed survives a crash (SIGKILL): recovery.py resolves what a dead
worker left. Time comes from an injected WallClock and sleep, so tests run without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from loguru import logger
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.campaigns import claims, recovery
from agent.campaigns import states as s
from agent.campaigns.capacity import CallCapacity
from agent.campaigns.recovery import CallLookup, LookupFailed
from agent.campaigns.store import Campaign, counts
from agent.graph.hours import WallClock
from agent.logging_setup import phone_hint
from agent.outbound.placing import (
    FINAL_STATUSES,
    CallOutcomes,
    CallPlacer,
    DialRefused,
    DialRequest,
    DoNotCall,
)

HEARTBEAT_S = 30.0
# No final status this long after placing: Twilio is asked (the status callback may have
# been lost: the server was down or unreachable), then again every ASK_TWILIO_EVERY_S.
ASK_TWILIO_AFTER_S = 10 * 60.0
ASK_TWILIO_EVERY_S = 10 * 60.0
IDLE_S = 30.0  # the longest sleep while only future contacts are left


@dataclass(frozen=True)
class WorkerDeps:
    engine: AsyncEngine
    placer: CallPlacer
    outcomes: CallOutcomes
    dnc: DoNotCall
    capacity: CallCapacity
    lookup: CallLookup | None
    clock: WallClock
    sleep: Callable[[float], Awaitable[None]]


@dataclass
class RunResult:
    finished: bool  # nothing left to call
    stopped: bool  # stop() was asked
    next_due: datetime | None = None  # returned early (max_wait_s): when the next is due
    released: int = 0  # calls in progress left for resume
    counts: dict[str, int] = field(default_factory=dict)


class CampaignWorker:
    def __init__(
        self,
        campaign: Campaign,
        deps: WorkerDeps,
        *,
        worker: str | None = None,
        concurrency: int | None = None,
        poll_s: float = 0.5,
        max_wait_s: float | None = None,
        outcome_timeout_s: float = 2 * 3600.0,
        ask_twilio_after_s: float = ASK_TWILIO_AFTER_S,
        ask_twilio_every_s: float = ASK_TWILIO_EVERY_S,
        stale_s: float = recovery.STALE_S,
    ):
        self.campaign = campaign
        self.deps = deps
        self.worker = worker or recovery.worker_id()
        self.concurrency = concurrency or campaign.settings.concurrency
        self.poll_s = poll_s
        # None: wait for every window and retry; else return when nothing is in flight and
        # the next due contact is further away than this
        self.max_wait_s = max_wait_s
        self.outcome_timeout_s = outcome_timeout_s
        self.ask_twilio_after_s = ask_twilio_after_s
        self.ask_twilio_every_s = ask_twilio_every_s
        self.stale_s = stale_s
        self._stopping = asyncio.Event()
        self._placing: set[asyncio.Task] = set()  # before the sid is saved: never cancelled
        self._tasks: set[asyncio.Task] = set()
        self._unplaced: set[int] = set()  # claimed; the handler has not started dialing

    def stop(self) -> None:
        """Stop claiming; `run` returns once the REST requests in flight are answered."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> RunResult:
        deps, cid = self.deps, self.campaign.id
        last_sweep = last_beat = None
        next_due: datetime | None = None
        finished = False
        try:
            while not self.stopping:
                now = deps.clock.now()
                if last_sweep is None or (now - last_sweep).total_seconds() >= self.stale_s / 3:
                    await self._sweep(now)
                    last_sweep = now
                if last_beat is None or (now - last_beat).total_seconds() >= HEARTBEAT_S:
                    await claims.heartbeat(deps.engine, self.worker, now)
                    last_beat = now
                if len(self._tasks) < self.concurrency and await self._room():
                    claimed = await claims.claim(deps.engine, cid, self.worker, now)
                    if claimed is not None:
                        self._start(claimed, watch_only=False)
                        continue
                    if not self._tasks:
                        left = await _left(deps.engine, cid)
                        if left.in_flight == 0 and left.next_due is None:
                            finished = True
                            break
                        wait_s = (left.next_due - now).total_seconds() if left.next_due else 0
                        late = self.max_wait_s is not None and wait_s > self.max_wait_s
                        if late and not left.in_flight:
                            next_due = left.next_due
                            break
                        if not left.in_flight and wait_s > self.poll_s:
                            # nothing to watch: sleep towards the next due (a window, a retry),
                            # waking now and then for other workers' left-overs
                            await self._nap(min(wait_s, IDLE_S))
                            continue
                await self._nap(self.poll_s)
        finally:
            released = await self._wind_down()
        return RunResult(
            finished, self.stopping, next_due, released, await counts(deps.engine, cid)
        )

    async def _nap(self, seconds: float) -> None:
        """Sleep on the injected clock; a stop() wakes it."""
        nap = asyncio.ensure_future(self.deps.sleep(seconds))
        stop = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({nap, stop}, return_when=asyncio.FIRST_COMPLETED)
        for task in (nap, stop):
            task.cancel()
        await asyncio.gather(nap, stop, return_exceptions=True)

    async def _room(self) -> bool:
        free = await self.deps.capacity.free()
        return free is None or free > 0

    async def _sweep(self, now: datetime) -> None:
        """Take over what gone workers left (recovery.py)."""
        found = await recovery.recover(
            self.deps.engine,
            self.campaign.id,
            self.worker,
            now,
            self.deps.lookup,
            stale_s=self.stale_s,
        )
        for contact in found.adopted:
            self._start(contact, watch_only=True)
        if found.requeued or found.unknown:
            logger.warning(
                f"campaign {self.campaign.id}: {found.requeued} contact(s) left dialing by a "
                f"stopped worker had no call (pending again), {found.unknown} unknown"
            )

    def _start(self, contact: claims.Claimed, *, watch_only: bool) -> None:
        if not watch_only:
            self._unplaced.add(contact.id)
        task = asyncio.create_task(self._handle(contact, watch_only))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, contact: claims.Claimed, watch_only: bool) -> None:
        try:
            if watch_only:
                sid = await self._sid_of(contact)
            else:
                self._unplaced.discard(contact.id)
                placing = asyncio.ensure_future(self._place(contact))
                self._placing.add(placing)
                placing.add_done_callback(self._placing.discard)
                sid = await asyncio.shield(placing)
            if sid is not None:
                await self._watch(contact, sid)
        except asyncio.CancelledError:
            raise
        except Exception:  # one contact's trouble never stops the campaign
            logger.exception(f"campaign contact {contact.id} ({phone_hint(contact.number)})")

    async def _place(self, contact: claims.Claimed) -> str | None:
        deps, settings = self.deps, self.campaign.settings
        if await deps.dnc.contains(contact.number):
            await claims.refused(
                deps.engine,
                contact.id,
                self.worker,
                "do_not_call",
                "the number is on the do-not-call list",
            )
            return None
        now = deps.clock.now()
        if not settings.window.is_open(now, contact.timezone):
            opening = settings.window.next_opening(now, contact.timezone)
            await claims.defer(deps.engine, contact.id, self.worker, opening)
            return None
        request = DialRequest(
            to=contact.number,
            graph=settings.graph,
            vars=contact.vars,
            from_number=settings.from_number,
            tag=f"campaign:{self.campaign.id}:{contact.id}",
        )
        try:
            placed = await deps.placer.place(request)
        except DialRefused as exc:
            if exc.reason == "twilio_error":
                await claims.failed(deps.engine, contact.id, self.worker, str(exc))
            else:
                await claims.refused(deps.engine, contact.id, self.worker, exc.reason, str(exc))
            return None
        await claims.placed(deps.engine, contact.id, self.worker, placed.call_sid)
        return placed.call_sid

    async def _sid_of(self, contact: claims.Claimed) -> str | None:
        rows = await claims.in_flight(self.deps.engine, self.campaign.id)
        return next((r["call_sid"] for r in rows if r["id"] == contact.id), None)

    async def _watch(self, contact: claims.Claimed, sid: str) -> None:
        deps, settings = self.deps, self.campaign.settings
        started = deps.clock.now()
        ask_at = self.ask_twilio_after_s
        while True:
            outcome = await deps.outcomes.outcome(sid)
            now = deps.clock.now()
            if outcome is not None:
                break
            waited = (now - started).total_seconds()
            if waited > self.outcome_timeout_s:
                why = f"no final status for {sid} in {self.outcome_timeout_s:.0f} s"
                await claims.unknown(deps.engine, contact.id, self.worker, why)
                return
            if deps.lookup is not None and waited >= ask_at:
                ask_at = waited + self.ask_twilio_every_s
                if await self._ask_twilio(sid):
                    continue  # recorded: the outcome is there now
            await deps.sleep(self.poll_s)
        state = s.after_call(outcome.status, outcome.answered_by, contact.attempts, settings.policy)
        retry_at = None
        if state == s.PENDING:
            retry_at = settings.policy.next_attempt(
                now, contact.attempts, settings.window, contact.timezone
            )
        await claims.ended(
            deps.engine,
            contact.id,
            self.worker,
            state=state,
            outcome=outcome.status,
            answered_by=outcome.answered_by,
            duration_s=outcome.duration_s,
            next_attempt_at=retry_at,
        )

    async def _ask_twilio(self, sid: str) -> bool:
        """No final status yet: ask Twilio (its callback may have been lost). A final status
        is recorded as its callback would have been; whether one was."""
        deps = self.deps
        assert deps.lookup is not None
        try:
            now = await deps.lookup.call_now(sid)
        except LookupFailed as exc:
            logger.warning(f"campaign call ...{sid[-8:]}: Twilio not asked ({exc}); waiting")
            return False
        if now.status not in FINAL_STATUSES:
            return False
        logger.warning(
            f"campaign call ...{sid[-8:]}: no status callback, Twilio says {now.status}; recorded"
        )
        if now.answered_by:
            await deps.outcomes.amd(sid, now.answered_by)
        await deps.outcomes.status(sid, now.status, duration_s=now.duration_s)
        return True

    async def _wind_down(self) -> int:
        """Stop watching, let the REST requests in flight finish (their sids saved), hand
        back the claims never dialed, release the calls in progress.

        The handlers go first: once none runs, no new REST request can start, so the
        set of requests awaited below is complete (a handler that had not yet run when
        stop() came would otherwise start one behind the release).
        """
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._placing:
            await asyncio.gather(*self._placing, return_exceptions=True)
        for contact_id in list(self._unplaced):
            await claims.unclaim(self.deps.engine, contact_id, self.worker)
        self._unplaced.clear()
        return await claims.release(self.deps.engine, self.worker)


@dataclass(frozen=True)
class _Left:
    in_flight: int
    next_due: datetime | None


async def _left(engine: AsyncEngine, campaign_id: str) -> _Left:
    """What remains of the campaign: contacts in flight (any worker), the next due time."""
    rows = await claims.in_flight(engine, campaign_id)
    return _Left(len(rows), await claims.next_due(engine, campaign_id))

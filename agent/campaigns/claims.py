"""A contact's calls in the database: claimed before dialing, so nobody is called twice.

The rule: a contact is claimed and marked `dialing` (attempts + 1) in a COMMITTED
transaction before the REST request that calls it; the call's sid is saved (`calling`) as
soon as Twilio answers. A worker that dies between the two leaves the contact `dialing`
without a sid, which recovery.py resolves (ask Twilio, else `unknown`): it is never put
back to `pending` on a guess.

    claim(engine, campaign_id, worker, now) -> Claimed | None    the next due contact
        Postgres: SELECT ... FOR UPDATE SKIP LOCKED, so several workers (processes,
        machines) each take different rows without waiting for each other; SQLite:
        BEGIN IMMEDIATE, one writer at a time. Either way the UPDATE is conditional on
        `state = 'pending'`: a row is claimed once.
    placed(engine, id, worker, sid)          the call exists: calling, with its sid
    refused(engine, id, worker, reason, detail)   no call was made (DNC, dial refused)
    failed(engine, id, worker, detail)        the REST request failed (maybe a call: final)
    ended(engine, id, worker, state, outcome, next_attempt_at)   the call's final status
    heartbeat(engine, worker, now)            renews claimed_at of the worker's contacts
    release(engine, worker)                   a clean stop: its calls in progress are left
                                              `calling`, claimed by nobody, for `resume`
    unclaim(engine, id, worker)               a clean stop before the REST request was
                                              sent: pending again, the attempt not counted
    in_flight(engine, campaign_id) -> [dict]  dialing and calling contacts (any worker)
    take_over(engine, id, old_worker, worker, now) -> bool   adopt a gone worker's contact
    recovered / unknown / defer              recovery.py's verdicts; outside the window

Every write names the worker (`claimed_by = worker`), so a worker that was presumed gone
and taken over cannot overwrite its successor's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agent.campaigns import states as s
from agent.records import models as m
from agent.records.store import utc

_c = m.campaign_contacts.c


@dataclass(frozen=True)
class Claimed:
    id: int
    number: str
    vars: dict[str, str]
    timezone: str
    attempts: int  # including this one


async def _begin_write(conn: AsyncConnection) -> None:
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, not at the UPDATE


async def claim(
    engine: AsyncEngine, campaign_id: str, worker: str, now: datetime
) -> Claimed | None:
    """Claim the contact due first (committed, `dialing`), or None when none is due."""
    query = (
        select(_c.id, _c.number, _c.vars, _c.timezone, _c.attempts)
        .where(
            _c.campaign_id == campaign_id,
            _c.state == s.PENDING,
            _c.next_attempt_at <= now,
        )
        .order_by(_c.next_attempt_at, _c.id)
        .limit(1)
    )
    async with engine.connect() as conn:
        await _begin_write(conn)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = (await conn.execute(query)).first()
        if row is None:
            await conn.rollback()
            return None
        done = await conn.execute(
            update(m.campaign_contacts)
            .where(_c.id == row.id, _c.state == s.PENDING)
            .values(
                state=s.DIALING,
                attempts=_c.attempts + 1,
                claimed_by=worker,
                claimed_at=now,
                last_attempt_at=now,
                call_sid=None,
                answered_by=None,
                duration_s=None,
            )
        )
        await conn.commit()
    if done.rowcount != 1:
        return None
    return Claimed(row.id, row.number, dict(row.vars or {}), row.timezone, row.attempts + 1)


async def _mine(engine: AsyncEngine, contact_id: int, worker: str, **values) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(
            update(m.campaign_contacts)
            .where(_c.id == contact_id, _c.claimed_by == worker)
            .values(**values)
        )
    return result.rowcount == 1


async def placed(engine: AsyncEngine, contact_id: int, worker: str, call_sid: str) -> bool:
    return await _mine(engine, contact_id, worker, state=s.CALLING, call_sid=call_sid)


async def refused(
    engine: AsyncEngine, contact_id: int, worker: str, reason: str, detail: str
) -> bool:
    """Never called: the attempt does not count."""
    return await _mine(
        engine,
        contact_id,
        worker,
        state=s.REFUSED,
        outcome=reason[:32],
        detail=detail[:500],
        attempts=_c.attempts - 1,
        claimed_by=None,
    )


async def failed(engine: AsyncEngine, contact_id: int, worker: str, detail: str) -> bool:
    return await _mine(
        engine,
        contact_id,
        worker,
        state=s.FAILED,
        outcome="twilio_error",
        detail=detail[:500],
        claimed_by=None,
    )


async def ended(
    engine: AsyncEngine,
    contact_id: int,
    worker: str,
    *,
    state: str,
    outcome: str,
    answered_by: str | None,
    duration_s: float | None,
    next_attempt_at: datetime | None,
) -> bool:
    """The call's final status: the contact's final state, or pending for a retry."""
    return await _mine(
        engine,
        contact_id,
        worker,
        state=state,
        outcome=outcome,
        answered_by=answered_by,
        duration_s=duration_s,
        next_attempt_at=next_attempt_at,
        claimed_by=None,
    )


async def heartbeat(engine: AsyncEngine, worker: str, now: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(m.campaign_contacts)
            .where(_c.claimed_by == worker, _c.state.in_(s.IN_FLIGHT))
            .values(claimed_at=now)
        )


async def release(engine: AsyncEngine, worker: str) -> int:
    """Leave the worker's calls in progress to whoever resumes; how many there were."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(m.campaign_contacts)
            .where(_c.claimed_by == worker, _c.state == s.CALLING)
            .values(claimed_by=None)
        )
    return result.rowcount


async def unclaim(engine: AsyncEngine, contact_id: int, worker: str) -> bool:
    """Hand back a claim whose REST request this process never started (a clean stop)."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(m.campaign_contacts)
            .where(
                _c.id == contact_id,
                _c.claimed_by == worker,
                _c.state == s.DIALING,
                _c.call_sid.is_(None),
            )
            .values(state=s.PENDING, attempts=_c.attempts - 1, claimed_by=None)
        )
    return result.rowcount == 1


async def in_flight(engine: AsyncEngine, campaign_id: str) -> list[dict]:
    query = select(m.campaign_contacts).where(
        _c.campaign_id == campaign_id, _c.state.in_(s.IN_FLIGHT)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [dict(r) | {"claimed_at": utc(r["claimed_at"])} for r in rows]


async def take_over(
    engine: AsyncEngine, contact_id: int, old_worker: str | None, worker: str, now: datetime
) -> bool:
    """Adopt a contact whose worker is gone; False when someone else was faster."""
    same = _c.claimed_by.is_(None) if old_worker is None else _c.claimed_by == old_worker
    async with engine.begin() as conn:
        result = await conn.execute(
            update(m.campaign_contacts)
            .where(_c.id == contact_id, same, _c.state.in_(s.IN_FLIGHT))
            .values(claimed_by=worker, claimed_at=now)
        )
    return result.rowcount == 1


async def recovered(
    engine: AsyncEngine, contact_id: int, worker: str, *, call_sid: str | None, detail: str
) -> bool:
    """A `dialing` orphan resolved: its call found (calling), or none made (pending again,
    the attempt not counted)."""
    if call_sid:
        return await _mine(engine, contact_id, worker, state=s.CALLING, call_sid=call_sid)
    return await _mine(
        engine,
        contact_id,
        worker,
        state=s.PENDING,
        attempts=_c.attempts - 1,
        detail=detail[:500],
        claimed_by=None,
    )


async def unknown(engine: AsyncEngine, contact_id: int, worker: str, detail: str) -> bool:
    return await _mine(
        engine, contact_id, worker, state=s.UNKNOWN, detail=detail[:500], claimed_by=None
    )


async def defer(engine: AsyncEngine, contact_id: int, worker: str, due: datetime) -> bool:
    """Outside the callee's window after all: pending until `due`, the attempt not counted."""
    return await _mine(
        engine,
        contact_id,
        worker,
        state=s.PENDING,
        attempts=_c.attempts - 1,
        next_attempt_at=due,
        claimed_by=None,
    )


async def next_due(engine: AsyncEngine, campaign_id: str) -> datetime | None:
    """When the campaign's next pending contact is due (None: none is pending)."""
    query = select(func.min(_c.next_attempt_at)).where(
        _c.campaign_id == campaign_id, _c.state == s.PENDING
    )
    async with engine.connect() as conn:
        return utc((await conn.execute(query)).scalar())

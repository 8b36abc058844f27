"""Outbound calls in the call-record database: written the moment Twilio tells us.

An outbound call's row in `calls` is inserted when Twilio accepts it (`placed`: direction
"outbound", status "queued", no stream yet), so a call nobody answers is still a record; the
call's media stream later finds the row there (the writer's start is insert-or-ignore).
Each status callback and AMD result is one row in `call_events` (the status history) and
updates the call's `call_status` / `answered_by`. These are small, rare writes in their own
transaction (like messages, message_store.py), not through the writer's queue: a campaign
worker in another process reads them (`outcome`) as soon as they are committed.

    OutboundRecords(engine)
        .placed(...)                   the call's row and its "queued" event
        .status(call_sid, status, ...) a status callback; a final one (busy, no-answer,
                                       failed, canceled) with no stream ends the record
        .amd(call_sid, answered_by)    Twilio's AMD result (first decision kept on the call)
        .answered(call_sid, kind, why) what the call itself decided (human | machine, and why)
        .outcome(call_sid) -> CallOutcome | None   (the CallOutcomes protocol)
        .events(conn, call_sid) -> [dict]          the status history, for GET /calls/SID
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agent.outbound.placing import FINAL_STATUSES, CallOutcome, answered_by_kind
from agent.records import models as m

# A final status that ends a call whose stream never started, as the record's outcome.
UNANSWERED_OUTCOMES = {
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "canceled",
    "completed": "completed",
}
UNANSWERED_REASONS = {
    "busy": "the line was busy",
    "no-answer": "nobody answered",
    "failed": "Twilio could not place the call",
    "canceled": "the call was canceled before it was answered",
    "completed": "the call ended",
}


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


class OutboundRecords:
    """Outbound calls' records on one database engine; implements CallOutcomes."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def placed(
        self,
        *,
        call_sid: str,
        to_number: str,
        from_number: str,
        graph: str,
        account_sid: str | None,
        tag: str | None,
        at: datetime | None = None,
    ) -> None:
        """The call's row and its "queued" event, `at` the moment it was asked for. Twilio's
        callbacks may beat this write (they start as the call is created): what they said
        is applied here."""
        at = at or datetime.now(UTC)
        events = m.call_events.c
        async with self.engine.begin() as conn:
            await conn.execute(
                m.calls.insert().values(
                    call_sid=call_sid,
                    account_sid=account_sid,
                    from_number=from_number,
                    to_number=to_number,
                    graph=graph,
                    started_at=at,
                    turn_count=0,
                    direction="outbound",
                    call_status="queued",
                    tag=tag,
                )
            )
            await conn.execute(
                m.call_events.insert().values(
                    call_sid=call_sid, kind="status", status="queued", at=at
                )
            )
            latest = (
                (
                    await conn.execute(
                        select(events.status, events.at, events.duration_s)
                        .where(
                            events.call_sid == call_sid,
                            events.kind == "status",
                            events.status != "queued",
                        )
                        .order_by(events.at.desc(), events.id.desc())
                        .limit(1)
                    )
                )
                .mappings()
                .first()
            )
            if latest is not None:
                await _apply_status(
                    conn, call_sid, latest["status"], latest["at"], latest["duration_s"]
                )
            first_amd = (
                await conn.execute(
                    select(events.status)
                    .where(events.call_sid == call_sid, events.kind == "amd")
                    .order_by(events.id)
                    .limit(1)
                )
            ).scalar()
            if first_amd is not None:
                await _apply_amd(conn, call_sid, first_amd)
            decided = (
                (
                    await conn.execute(
                        select(events.status, events.detail)
                        .where(events.call_sid == call_sid, events.kind == "answered")
                        .order_by(events.id.desc())
                        .limit(1)
                    )
                )
                .mappings()
                .first()
            )
            if decided is not None:  # the call's own decision wins over AMD's
                await conn.execute(
                    update(m.calls)
                    .where(m.calls.c.call_sid == call_sid)
                    .values(answered_by=decided["status"], answered_reason=decided["detail"])
                )

    async def status(
        self,
        call_sid: str,
        status: str,
        *,
        duration_s: float | None = None,
        at: datetime | None = None,
    ) -> None:
        """One status callback (CallStatus: initiated, ringing, in-progress, completed, busy,
        no-answer, failed, canceled). A final status fills the record's end when the call
        never reached the agent (no outcome yet); a call that did keeps its own."""
        at = at or datetime.now(UTC)
        async with self.engine.begin() as conn:
            await conn.execute(
                m.call_events.insert().values(
                    call_sid=call_sid, kind="status", status=status, at=at, duration_s=duration_s
                )
            )
            await _apply_status(conn, call_sid, status, at, duration_s)

    async def amd(self, call_sid: str, answered_by: str, at: datetime | None = None) -> None:
        """Twilio's AMD result (AnsweredBy); the call's answered_by unless already decided."""
        at = at or datetime.now(UTC)
        async with self.engine.begin() as conn:
            await conn.execute(
                m.call_events.insert().values(
                    call_sid=call_sid, kind="amd", status=answered_by, at=at
                )
            )
            await _apply_amd(conn, call_sid, answered_by)

    async def amd_result(self, call_sid: str) -> str | None:
        """The latest AMD result recorded for the call (by whichever server process received
        Twilio's callback), or None."""
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    select(m.call_events.c.status)
                    .where(m.call_events.c.call_sid == call_sid, m.call_events.c.kind == "amd")
                    .order_by(m.call_events.c.id.desc())
                    .limit(1)
                )
            ).scalar()

    async def answered(
        self, call_sid: str, kind: str, why: str, at: datetime | None = None
    ) -> None:
        """What the call decided and acted on: human or machine, and why ("amd:human",
        "words: you've reached", "no words in 4 s")."""
        at = at or datetime.now(UTC)
        async with self.engine.begin() as conn:
            await conn.execute(
                m.call_events.insert().values(
                    call_sid=call_sid, kind="answered", status=kind, at=at, detail=why[:200]
                )
            )
            await conn.execute(
                update(m.calls)
                .where(m.calls.c.call_sid == call_sid)
                .values(answered_by=kind, answered_reason=why[:200])
            )

    async def outcome(self, call_sid: str) -> CallOutcome | None:
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(m.calls.c.call_status, m.calls.c.answered_by).where(
                            m.calls.c.call_sid == call_sid
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None or row["call_status"] not in FINAL_STATUSES:
                return None
            duration = (
                await conn.execute(
                    select(m.call_events.c.duration_s)
                    .where(
                        m.call_events.c.call_sid == call_sid,
                        m.call_events.c.kind == "status",
                        m.call_events.c.status == row["call_status"],
                    )
                    .order_by(m.call_events.c.id.desc())
                    .limit(1)
                )
            ).scalar()
        return CallOutcome(row["call_status"], row["answered_by"], duration)


async def _apply_status(conn, call_sid: str, status: str, at, duration_s) -> None:
    """The call's latest status on its row; a final one ends a record no stream ended."""
    await conn.execute(
        update(m.calls).where(m.calls.c.call_sid == call_sid).values(call_status=status)
    )
    if status in FINAL_STATUSES:
        await conn.execute(
            update(m.calls)
            .where(m.calls.c.call_sid == call_sid, m.calls.c.outcome.is_(None))
            .values(
                outcome=UNANSWERED_OUTCOMES[status],
                end_reason=UNANSWERED_REASONS[status],
                ended_at=at,
                duration_s=duration_s,
            )
        )


async def _apply_amd(conn, call_sid: str, answered_by: str) -> None:
    kind = answered_by_kind(answered_by) or "unknown"
    await conn.execute(
        update(m.calls)
        .where(m.calls.c.call_sid == call_sid, m.calls.c.answered_by.is_(None))
        .values(answered_by=kind, answered_reason=f"amd:{answered_by}"[:200])
    )


async def events_of(conn: AsyncConnection, call_sid: str) -> list[dict]:
    """A call's status history (status callbacks, AMD, the call's own decision), in the
    order they happened (a callback may be written before the call's placement)."""
    rows = await m.rows_of_call(
        conn, m.call_events, call_sid, m.call_events.c.at, m.call_events.c.id
    )
    return [
        {
            "kind": r["kind"],
            "status": r["status"],
            "at": _iso(r["at"]),
            "duration_s": r["duration_s"],
            "detail": r["detail"],
        }
        for r in rows
    ]

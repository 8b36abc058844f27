"""Messages for the owner in the call-record database: written the moment one is taken.

Unlike turns, which go through the writer's queue, a message is written straight away in its
own transaction (`save_message`), so it is on disk before the caller hears "I've passed your
message on", and a crash after that cannot lose it. The call's row is inserted with it when
the writer has not written it yet (insert-or-ignore, as the writer does).

    save_message(engine, NewMessage, claimed_by) -> id   the message, its SMS "pending" or "none"
    update_sms(engine, id, SmsUpdate)               each SMS attempt's outcome (claim renewed)
    pending_sms(engine) -> [dict]                   SMS still to send (retried at start)
    claim_sms(engine, id, by, stale_s) -> bool      take a pending SMS nobody is on
    release_sms(engine, by)                         a clean stop: leave them to the next start
    messages_of(conn, call_sid) -> [dict]           a call's messages, for GET /calls/SID

The dicts are what `GET /calls/{call_sid}` shows under "messages" (README, Messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agent.records import models as m


@dataclass(frozen=True)
class NewMessage:
    """A message just taken, with the call it belongs to and the SMS to send (if any)."""

    call_sid: str
    graph: str
    call_started_at: datetime
    from_number: str | None
    to_number: str | None
    taken_at: datetime
    reason: str
    name: str | None
    callback_number: str | None
    about: str | None
    confirmed: bool
    sms_to: str | None = None
    sms_body: str | None = None  # None: no SMS


@dataclass(frozen=True)
class SmsUpdate:
    status: str  # pending | sent | failed
    attempts: int
    sid: str | None = None
    error: str | None = None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes, stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


def _insert_ignore(dialect: str, table):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


async def save_message(
    engine: AsyncEngine, message: NewMessage, claimed_by: str | None = None
) -> int:
    """Write the message (and its call's row if missing) in one transaction; its id."""
    sms = message.sms_body is not None
    async with engine.begin() as conn:
        call = _insert_ignore(engine.dialect.name, m.calls).on_conflict_do_nothing(
            index_elements=["call_sid"]
        )
        await conn.execute(
            call,
            {
                "call_sid": message.call_sid,
                "from_number": message.from_number,
                "to_number": message.to_number,
                "graph": message.graph,
                "started_at": message.call_started_at,
                "turn_count": 0,
            },
        )
        result = await conn.execute(
            m.messages.insert().values(
                call_sid=message.call_sid,
                taken_at=message.taken_at,
                reason=message.reason,
                name=message.name,
                callback_number=message.callback_number,
                about=message.about,
                caller_id=message.from_number,
                confirmed=message.confirmed,
                sms_status="pending" if sms else "none",
                sms_to=message.sms_to if sms else None,
                sms_from=message.to_number if sms else None,
                sms_body=message.sms_body,
                sms_attempts=0,
                sms_claimed_by=claimed_by if sms else None,
                sms_claimed_at=datetime.now(UTC) if sms and claimed_by else None,
            )
        )
        return int(result.inserted_primary_key[0])


async def update_sms(engine: AsyncEngine, message_id: int, sms: SmsUpdate) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            update(m.messages)
            .where(m.messages.c.id == message_id)
            .values(
                sms_status=sms.status,
                sms_attempts=sms.attempts,
                sms_sid=sms.sid,
                sms_error=sms.error,
                sms_updated_at=now,
                sms_claimed_at=now,
            )
        )


async def claim_sms(engine: AsyncEngine, message_id: int, by: str, stale_s: float) -> bool:
    """Take a pending SMS that no live process is on (unclaimed, or its claim is stale)."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        result = await conn.execute(
            update(m.messages)
            .where(
                m.messages.c.id == message_id,
                m.messages.c.sms_status == "pending",
                or_(
                    m.messages.c.sms_claimed_by.is_(None),
                    m.messages.c.sms_claimed_at < now - timedelta(seconds=stale_s),
                ),
            )
            .values(sms_claimed_by=by, sms_claimed_at=now)
        )
    return result.rowcount == 1


async def release_sms(engine: AsyncEngine, by: str) -> None:
    """Give up the claims of `by` on SMS still pending (a clean stop)."""
    async with engine.begin() as conn:
        await conn.execute(
            update(m.messages)
            .where(m.messages.c.sms_claimed_by == by, m.messages.c.sms_status == "pending")
            .values(sms_claimed_by=None)
        )


async def pending_sms(engine: AsyncEngine) -> list[dict]:
    """Messages whose SMS is still pending (the process stopped before it went out)."""
    async with engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    select(m.messages)
                    .where(m.messages.c.sms_status == "pending")
                    .order_by(m.messages.c.id)
                )
            )
            .mappings()
            .all()
        )
    return [message_dict(row) for row in rows]


async def messages_of(conn: AsyncConnection, call_sid: str) -> list[dict]:
    rows = await m.rows_of_call(conn, m.messages, call_sid, m.messages.c.id)
    return [message_dict(row) for row in rows]


def message_dict(row) -> dict:
    return {
        "id": row["id"],
        "call_sid": row["call_sid"],
        "taken_at": _iso(row["taken_at"]),
        "reason": row["reason"],
        "name": row["name"],
        "callback_number": row["callback_number"],
        "about": row["about"],
        "caller_id": row["caller_id"],
        "confirmed": bool(row["confirmed"]),
        "sms": {
            "status": row["sms_status"],
            "to": row["sms_to"],
            "from": row["sms_from"],
            "body": row["sms_body"],
            "sid": row["sms_sid"],
            "error": row["sms_error"],
            "attempts": row["sms_attempts"],
            "updated_at": _iso(row["sms_updated_at"]),
        },
    }

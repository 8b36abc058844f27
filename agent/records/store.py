"""The call-record database: SQLite (a file, WAL) or Postgres, through SQLAlchemy 2 async.

`DATABASE_URL` picks it: `sqlite:///calls.db` (relative to the working directory;
`sqlite:////abs/path.db` for an absolute path) runs on aiosqlite, `postgres://` or
`postgresql://` on asyncpg. `Store.open(url)` connects (a Postgres that is not up yet is
waited for, bounded: connect.py) and migrates the schema (models.py):
safe when several processes start at once (Postgres: an advisory lock; SQLite: the file's
write lock).

Writes are record events (CallStarted, TurnRecord, ExtractionRecord, CallEnded,
TransferStarted, TransferStatus), applied in
order by `apply(events)` in one transaction; only the writer task (writer.py) calls it.
Reads (`list_calls`, `get_call`) return plain JSON-ready dicts for the API, the CLI and the
record delivery (the call webhook, agent/records/delivery.py). Messages for the owner are
written apart, the moment they are taken (message_store.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from loguru import logger
from sqlalchemy import bindparam, event, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from agent.errors import DatabaseUnreachable
from agent.records import models as m
from agent.records.connect import CONNECT_TIMEOUT_S, wait_until_reachable
from agent.records.message_store import messages_of
from agent.records.outbound_store import events_of
from agent.records.queries import call_filters
from agent.records.recordings import (
    RECORDING_EVENTS,
    RecordingEvent,
    apply_recording_events,
    recording_dict,
)

MIGRATE_ATTEMPTS = 5

# --- events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallStarted:
    call_sid: str
    stream_sid: str | None
    account_sid: str | None
    from_number: str | None
    to_number: str | None
    graph: str
    started_at: datetime


@dataclass(frozen=True)
class TurnRecord:
    call_sid: str
    seq: int
    role: str
    text: str
    heard_text: str | None
    interrupted: bool
    source: str
    route: str | None
    started_at: datetime | None
    ended_at: datetime | None
    latency_ms: float | None
    failure: str | None = None  # "stage:reason" when a failed turn's fallback was said


@dataclass(frozen=True)
class ExtractionRecord:
    call_sid: str
    seq: int
    after_turn: int
    created_at: datetime
    schema_name: str
    data: dict | None
    error: str | None
    attempts: int


@dataclass(frozen=True)
class CallEnded:
    call_sid: str
    ended_at: datetime
    outcome: str
    duration_s: float
    reason: str | None = None  # why, in words (agent/app/call_session.py says each)


@dataclass(frozen=True)
class TransferStarted:
    """The agent put the call through to a person (status "dialing" until told otherwise)."""

    call_sid: str
    destination: str
    to_number: str | None
    via: str
    reason: str
    requested_at: datetime


@dataclass(frozen=True)
class TransferStatus:
    """How the call's latest transfer went: Twilio's DialCallStatus, or update_failed."""

    call_sid: str
    status: str
    at: datetime
    dial_duration_s: float | None = None
    outcome: str | None = None  # also the call's outcome (answered: "transferred")
    reason: str | None = None  # with an outcome: why the call ended, in words


Event = (
    CallStarted
    | TurnRecord
    | ExtractionRecord
    | CallEnded
    | RecordingEvent
    | TransferStarted
    | TransferStatus
)


def async_url(url: str) -> str:
    """DATABASE_URL -> the SQLAlchemy async URL (driver named)."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql://")


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    value = utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


class Store:
    """One database. Open with `await Store.open(url)`; `await store.close()` at the end."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.dialect = engine.dialect.name  # "sqlite" | "postgresql"

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Store:
        """Connect (Postgres: retried up to `connect_timeout_s`, see connect.py) and migrate.

        Raises DatabaseUnreachable naming DATABASE_URL's host and port when Postgres does not
        answer in time or refuses the login.
        """
        target = async_url(url)
        if target.startswith("sqlite"):
            engine = create_async_engine(target, connect_args={"timeout": 30})

            @event.listens_for(engine.sync_engine, "connect")
            def _pragmas(dbapi_conn, _record):
                cursor = dbapi_conn.cursor()
                # WAL: readers (the API, the CLI) never block the writer; NORMAL sync is
                # durable across a killed process (only an OS crash may lose the last commit).
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()
        else:
            engine = create_async_engine(target, pool_size=5, max_overflow=5, pool_pre_ping=True)
            try:
                await wait_until_reachable(
                    partial(_probe, engine),
                    url,
                    timeout_s=connect_timeout_s,
                    clock=clock,
                    sleep=sleep,
                )
            except DatabaseUnreachable:
                await engine.dispose()
                raise
        store = cls(engine)
        if migrate:
            await store.migrate()
        return store

    async def close(self) -> None:
        await self.engine.dispose()

    # --- schema --------------------------------------------------------------------------

    async def migrate(self) -> int:
        """Apply the migrations not yet applied; the schema version after.

        Two processes starting together (WEB_CONCURRENCY) must not both create the tables:
        Postgres serializes them with an advisory lock; SQLite runs DDL outside the
        transaction, so the loser of the race ("table ... already exists", "database is
        locked") tries again once the winner is done, and then finds nothing to do.
        """
        for attempt in range(MIGRATE_ATTEMPTS):
            try:
                async with self.engine.begin() as conn:
                    if self.dialect == "postgresql":
                        await conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
                    return await conn.run_sync(_migrate_sync)
            except OperationalError as exc:
                if self.dialect != "sqlite" or attempt == MIGRATE_ATTEMPTS - 1:
                    raise
                logger.info(f"records schema: another process is migrating ({exc.orig}); again")
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    # --- writes --------------------------------------------------------------------------

    async def apply(self, events: list[Event]) -> None:
        """Write events in order, in one transaction (all or none)."""
        async with self.engine.begin() as conn:
            await _apply(conn, events, self)

    def _insert_ignore(self, table):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    # --- reads ---------------------------------------------------------------------------

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """A connection whose reads all see one committed state of the database.

        Without it each SELECT sees the latest commit (SQLite's driver opens no transaction
        for reads; Postgres defaults to READ COMMITTED), so a record read in several queries
        could show a transfer's new status next to the call's old end.
        """
        async with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            else:
                await conn.exec_driver_sql("BEGIN")  # a read transaction: WAL keeps its snapshot
            try:
                yield conn
            finally:
                await conn.rollback()

    async def list_calls(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        since: datetime | None = None,
        until: datetime | None = None,
        graph: str | None = None,
        outcome: str | None = None,
        number: str | None = None,
        failure: str | None = None,
        field: str | None = None,
        value: str | None = None,
    ) -> tuple[list[dict], int]:
        """Calls newest first, and how many match the filters in all (number, failure,
        field and value: agent/records/queries.py)."""
        where = call_filters(number=number, failure=failure, field=field, value=value)
        if since is not None:
            where.append(m.calls.c.started_at >= since)
        if until is not None:
            where.append(m.calls.c.started_at < until)
        if graph:
            where.append(m.calls.c.graph == graph)
        if outcome:
            where.append(m.calls.c.outcome == outcome)
        query = (
            select(m.calls)
            .where(*where)
            .order_by(m.calls.c.started_at.desc(), m.calls.c.call_sid)
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(m.calls).where(*where)
        async with self.snapshot() as conn:
            rows = (await conn.execute(query)).mappings().all()
            total = (await conn.execute(count)).scalar_one()
        return [_call_dict(row) for row in rows], int(total)

    async def get_call(self, call_sid: str) -> dict | None:
        """One call with its turns, extraction snapshots and messages, or None: read in one
        snapshot, so a transfer's status and the call's end written together are seen together."""
        async with self.snapshot() as conn:
            row = (
                (await conn.execute(select(m.calls).where(m.calls.c.call_sid == call_sid)))
                .mappings()
                .first()
            )
            if row is None:
                return None
            turn_rows = await m.rows_of_call(conn, m.turns, call_sid, m.turns.c.seq)
            extraction_rows = await m.rows_of_call(
                conn, m.extractions, call_sid, m.extractions.c.seq, m.extractions.c.id
            )
            transfer_rows = await m.rows_of_call(conn, m.transfers, call_sid, m.transfers.c.id)
            messages = await messages_of(conn, call_sid)
            history = await events_of(conn, call_sid)
        call = _call_dict(row)
        call["turns"] = [_turn_dict(t) for t in turn_rows]
        call["transfers"] = [_transfer_dict(t) for t in transfer_rows]
        call["extractions"] = [_extraction_dict(e) for e in extraction_rows]
        call["messages"] = messages
        call["status_history"] = history  # outbound calls: Twilio's statuses and AMD
        return call


async def _probe(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def _migrate_sync(conn) -> int:
    m.schema_version.create(conn, checkfirst=True)
    current = conn.execute(select(m.schema_version.c.version)).scalar()
    if current is None:
        conn.execute(m.schema_version.insert().values(version=0))
        current = 0
    for number, migration in enumerate(m.MIGRATIONS, start=1):
        if number > current:
            migration(conn)
            conn.execute(update(m.schema_version).values(version=number))
            current = number
    return current


async def _apply(conn, events: list[Event], store: Store) -> None:
    """One statement per kind of event (executemany), in an order that keeps each call's own
    order: its start, its turns, its extraction snapshots, its end. A few round trips per
    batch instead of two per event: what matters when the event loop is busy with calls."""
    starts = [e for e in events if isinstance(e, CallStarted)]
    turn_events = [e for e in events if isinstance(e, TurnRecord)]
    extraction_events = [e for e in events if isinstance(e, ExtractionRecord)]
    ends = [e for e in events if isinstance(e, CallEnded)]
    transfer_events = [e for e in events if isinstance(e, TransferStarted | TransferStatus)]
    recording_events = [e for e in events if isinstance(e, RECORDING_EVENTS)]
    kinds = (starts, turn_events, extraction_events, ends, recording_events, transfer_events)
    if sum(len(k) for k in kinds) != len(events):
        raise TypeError("not a record event")
    if starts:
        # An outbound call's record exists before its stream (OutboundRecords.placed): the
        # stream's start fills in its stream sid and account, and changes nothing else.
        insert = store._insert_ignore(m.calls)
        stmt = insert.on_conflict_do_update(
            index_elements=["call_sid"],
            set_={
                "stream_sid": func.coalesce(m.calls.c.stream_sid, insert.excluded.stream_sid),
                "account_sid": func.coalesce(m.calls.c.account_sid, insert.excluded.account_sid),
            },
        )
        await conn.execute(
            stmt,
            [
                {
                    "call_sid": e.call_sid,
                    "stream_sid": e.stream_sid,
                    "account_sid": e.account_sid,
                    "from_number": e.from_number,
                    "to_number": e.to_number,
                    "graph": e.graph,
                    "started_at": e.started_at,
                    "turn_count": 0,
                }
                for e in starts
            ],
        )
    if turn_events:
        stmt = store._insert_ignore(m.turns).on_conflict_do_nothing(
            index_elements=["call_sid", "seq"]
        )
        await conn.execute(
            stmt,
            [
                {
                    "call_sid": e.call_sid,
                    "seq": e.seq,
                    "role": e.role,
                    "text": e.text,
                    "heard_text": e.heard_text,
                    "interrupted": e.interrupted,
                    "source": e.source,
                    "route": e.route,
                    "started_at": e.started_at,
                    "ended_at": e.ended_at,
                    "latency_ms": e.latency_ms,
                    "failure": e.failure,
                }
                for e in turn_events
            ],
        )
        counts: dict[str, int] = {}
        for e in turn_events:
            counts[e.call_sid] = max(counts.get(e.call_sid, 0), e.seq + 1)
        await conn.execute(
            update(m.calls)
            .where(
                m.calls.c.call_sid == bindparam("b_sid"), m.calls.c.turn_count < bindparam("b_n")
            )
            .values(turn_count=bindparam("b_n")),
            [{"b_sid": sid, "b_n": n} for sid, n in counts.items()],
        )
    if extraction_events:
        await conn.execute(
            m.extractions.insert(),
            [
                {
                    "call_sid": e.call_sid,
                    "seq": e.seq,
                    "after_turn": e.after_turn,
                    "created_at": e.created_at,
                    "schema_name": e.schema_name,
                    "data": e.data,
                    "error": e.error,
                    "attempts": e.attempts,
                }
                for e in extraction_events
            ],
        )
        for e in extraction_events:  # rare (one per answer, in the background): one by one
            values: dict[str, Any] = (
                {"extraction": e.data, "extraction_error": None}
                if e.error is None
                else {"extraction_error": e.error}
            )
            await conn.execute(
                update(m.calls).where(m.calls.c.call_sid == e.call_sid).values(**values)
            )
    if ends:
        await conn.execute(
            update(m.calls)
            .where(m.calls.c.call_sid == bindparam("b_sid"))
            .values(
                ended_at=bindparam("b_ended"),
                outcome=bindparam("b_outcome"),
                end_reason=bindparam("b_reason"),
                duration_s=bindparam("b_duration"),
            ),
            [
                {
                    "b_sid": e.call_sid,
                    "b_ended": e.ended_at,
                    "b_outcome": e.outcome,
                    "b_reason": (e.reason or "")[:200] or None,
                    "b_duration": e.duration_s,
                }
                for e in ends
            ],
        )
    if recording_events:  # after the starts: they update the call's row
        await apply_recording_events(conn, recording_events)
    for e in transfer_events:  # a few per call at most: one by one, in order
        await _apply_transfer(conn, e)


async def _apply_transfer(conn, e: TransferStarted | TransferStatus) -> None:
    if isinstance(e, TransferStarted):
        await conn.execute(
            m.transfers.insert().values(
                call_sid=e.call_sid,
                destination=e.destination,
                to_number=e.to_number,
                via=e.via,
                reason=e.reason,
                requested_at=e.requested_at,
                status="dialing",
            )
        )
        return
    latest = (
        select(func.max(m.transfers.c.id)).where(m.transfers.c.call_sid == e.call_sid)
    ).scalar_subquery()
    await conn.execute(
        update(m.transfers)
        .where(m.transfers.c.id == latest)
        .values(status=e.status, dial_duration_s=e.dial_duration_s, ended_at=e.at)
    )
    if e.outcome:  # the call ends with the dial (answered: when the person hung up)
        started = (
            await conn.execute(select(m.calls.c.started_at).where(m.calls.c.call_sid == e.call_sid))
        ).scalar()
        duration = round((e.at - utc(started)).total_seconds(), 3) if started else None
        await conn.execute(
            update(m.calls)
            .where(m.calls.c.call_sid == e.call_sid)
            .values(
                outcome=e.outcome,
                end_reason=(e.reason or "")[:200] or None,
                ended_at=e.at,
                duration_s=duration,
            )
        )


def _call_dict(row) -> dict:
    return {
        "call_sid": row["call_sid"],
        "stream_sid": row["stream_sid"],
        "account_sid": row["account_sid"],
        "from": row["from_number"],
        "to": row["to_number"],
        "graph": row["graph"],
        "started_at": _iso(row["started_at"]),
        "ended_at": _iso(row["ended_at"]),
        "outcome": row["outcome"],
        "end_reason": row["end_reason"],
        "duration_s": row["duration_s"],
        "turn_count": row["turn_count"],
        "extraction": row["extraction"],
        "extraction_error": row["extraction_error"],
        "recording": recording_dict(row, _iso),
        "direction": row["direction"] or "inbound",
        "call_status": row["call_status"],  # outbound: Twilio's latest CallStatus
        "answered_by": row["answered_by"],  # outbound: human | machine | unknown
        "answered_reason": row["answered_reason"],  # "amd:machine_end_beep", "words: ..."
        "tag": row["tag"],
    }


def _turn_dict(row) -> dict:
    return {
        "seq": row["seq"],
        "role": row["role"],
        "text": row["text"],
        "heard_text": row["heard_text"],
        "interrupted": bool(row["interrupted"]),
        "source": row["source"],
        "route": row["route"],
        "started_at": _iso(row["started_at"]),
        "ended_at": _iso(row["ended_at"]),
        "latency_ms": row["latency_ms"],
        "failure": row["failure"],
    }


def _extraction_dict(row) -> dict:
    return {
        "seq": row["seq"],
        "after_turn": row["after_turn"],
        "created_at": _iso(row["created_at"]),
        "schema": row["schema_name"],
        "data": row["data"],
        "error": row["error"],
        "attempts": row["attempts"],
    }


def _transfer_dict(row) -> dict:
    return {
        "destination": row["destination"],
        "to": row["to_number"],
        "via": row["via"],
        "reason": row["reason"],
        "requested_at": _iso(row["requested_at"]),
        "status": row["status"],
        "dial_duration_s": row["dial_duration_s"],
        "ended_at": _iso(row["ended_at"]),
    }

"""The call-record tables (SQLAlchemy Core) and the ordered migrations that create them.

    calls        one row per call: who, when, which graph, how it ended, latest extraction,
                 its recording (file, length, deletion)
    turns        one row per caller or agent turn, (call_sid, seq) unique
    extractions  one row per extraction attempt that finished: the merged snapshot, or the error
    transfers    one row per transfer to a person: where, why, how the dial went
    messages     one row per message taken for the owner, with its SMS's delivery state
    call_events  outbound calls: Twilio's status callbacks and AMD results, in order
    do_not_call  numbers (E.164) the agent must never call (agent/records/dnc.py)
    campaigns    one row per calling list run by `campaign run` (agent/campaigns/)
    campaign_contacts  one row per number of a campaign: its state, attempts, call
    schema_version   one row: the number of migrations applied

A migration is a function of a synchronous connection (run through `run_sync`), applied in
order inside one transaction with the version bump; add new ones at the end of MIGRATIONS,
never edit an applied one. Times are stored in UTC.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

metadata = MetaData()

calls = Table(
    "calls",
    metadata,
    Column("call_sid", String(64), primary_key=True),
    Column("stream_sid", String(64)),
    Column("account_sid", String(64)),
    Column("from_number", String(64)),
    Column("to_number", String(64)),
    Column("graph", String(100), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("outcome", String(32)),  # caller_hung_up, agent_hung_up, timeout, drained, error
    Column("end_reason", String(200)),  # why, in words: "the agent hung up (end_call tool)"
    Column("duration_s", Float),
    Column("turn_count", Integer, nullable=False, default=0),
    Column("extraction", JSON),  # the latest merged snapshot
    Column("extraction_error", Text),  # the last extraction failure (after retries)
    # the call's recording (agent/recording): its WAV file, length, when retention deleted it
    Column("recording_path", String(1024)),
    Column("recording_duration_s", Float),
    Column("recording_deleted_at", DateTime(timezone=True)),
    # outbound calls (agent/outbound): direction (NULL: inbound), Twilio's latest CallStatus,
    # who answered (human | machine | unknown) and why ("amd:machine_end_beep", "words:
    # voicemail greeting"), the placer's opaque tag (a campaign's contact id)
    Column("direction", String(16)),
    Column("call_status", String(32)),
    Column("answered_by", String(16)),
    Column("answered_reason", String(200)),
    Column("tag", String(200)),
    Index("ix_calls_started_at", "started_at"),
    Index("ix_calls_graph", "graph"),
    Index("ix_calls_outcome", "outcome"),
)

turns = Table(
    "turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), ForeignKey("calls.call_sid"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("role", String(16), nullable=False),  # caller | agent
    Column("text", Text, nullable=False),
    Column("heard_text", Text),  # agent turns: what the caller actually heard
    Column("interrupted", Boolean, nullable=False, default=False),
    Column("source", String(16), nullable=False),  # caller | dtmf | llm | route | call | fallback
    Column("route", String(100)),  # the intent route that answered (source=route)
    Column("started_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("latency_ms", Float),  # agent turns: caller stopped -> agent audio started
    # agent turns said because a service failed: "stage:reason" (e.g. "llm:timeout")
    Column("failure", String(100)),
    UniqueConstraint("call_sid", "seq", name="uq_turns_call_seq"),
)

extractions = Table(
    "extractions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), ForeignKey("calls.call_sid"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("after_turn", Integer, nullable=False),  # the last turn seq it saw
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("schema_name", String(100), nullable=False),
    Column("data", JSON),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=1),
    Index("ix_extractions_call", "call_sid", "seq"),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), ForeignKey("calls.call_sid"), nullable=False),
    Column("destination", String(100), nullable=False),  # its name in the graph's transfer:
    Column("to_number", String(64)),
    Column("via", String(16), nullable=False),  # route | dtmf | llm
    Column("reason", Text),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    # dialing, then Twilio's DialCallStatus (completed, busy, no-answer, failed, canceled),
    # or update_failed (Twilio's API did not take the <Dial>)
    Column("status", String(32), nullable=False),
    Column("dial_duration_s", Float),  # answered: how long the person talked
    Column("ended_at", DateTime(timezone=True)),
    Index("ix_transfers_call", "call_sid"),
)


messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), ForeignKey("calls.call_sid"), nullable=False),
    Column("taken_at", DateTime(timezone=True), nullable=False),
    Column("reason", String(32), nullable=False),  # caller_asked, after_hours, ...
    Column("name", Text),
    Column("callback_number", String(32)),
    Column("about", Text),
    Column("caller_id", String(64)),  # the call's From
    Column("confirmed", Boolean, nullable=False, default=False),  # the read-back was a yes
    # The SMS to the owner: none (no sms_to), pending, sent or failed.
    Column("sms_status", String(16), nullable=False, default="none"),
    Column("sms_to", String(32)),
    Column("sms_from", String(32)),
    Column("sms_body", Text),  # kept, so a failed SMS can be sent again
    Column("sms_sid", String(64)),  # Twilio's message SID once sent
    Column("sms_error", Text),  # the last failure: "HTTP 400 code 21211: ..."
    Column("sms_attempts", Integer, nullable=False, default=0),
    Column("sms_updated_at", DateTime(timezone=True)),
    # The process sending it (agent/records/outbox.py), so a restart resends only the SMS
    # nobody is on: released at a clean stop, stale after a crash.
    Column("sms_claimed_by", String(36)),
    Column("sms_claimed_at", DateTime(timezone=True)),
    Index("ix_messages_call", "call_sid"),
    Index("ix_messages_sms_status", "sms_status"),
)

call_events = Table(
    "call_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), nullable=False),  # no FK: written in any order
    Column("kind", String(16), nullable=False),  # status | amd | answered
    Column("status", String(32), nullable=False),  # CallStatus, AnsweredBy or human/machine
    Column("at", DateTime(timezone=True), nullable=False),
    Column("duration_s", Float),  # status completed: Twilio's CallDuration
    Column("detail", String(200)),
    Index("ix_call_events_call", "call_sid", "id"),
)

do_not_call = Table(
    "do_not_call",
    metadata,
    Column("number", String(32), primary_key=True),  # E.164
    Column("source", String(64), nullable=False),  # cli, api, route:stop, tool:do_not_call
    Column("added_at", DateTime(timezone=True), nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("graph", String(100), nullable=False),
    Column("source", String(300)),  # the CSV's file name, for the owner
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("call_window", String(11), nullable=False),  # "09:00-20:00", in each callee's zone
    Column("timezone", String(64), nullable=False),  # for rows without a timezone column
    Column("concurrency", Integer, nullable=False),  # calls at once, per worker
    Column("max_attempts", Integer, nullable=False),
    Column("retry_after_s", Float, nullable=False),  # the first retry's delay (doubles)
    Column("from_number", String(64)),  # None: FROM_NUMBER
    Column("state", String(16), nullable=False),  # active | done
)

campaign_contacts = Table(
    "campaign_contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(36), ForeignKey("campaigns.id"), nullable=False),
    Column("csv_line", Integer, nullable=False),  # the CSV's line number
    Column("number", String(32), nullable=False),
    Column("vars", JSON, nullable=False),  # the CSV's other columns, as the owner gave them
    Column("timezone", String(64), nullable=False),
    # pending | dialing | calling | answered | voicemail | busy | no-answer | failed |
    # canceled | refused | unknown (agent/campaigns/states.py)
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("call_sid", String(64)),  # the latest attempt's
    Column("outcome", String(32)),  # the latest attempt's: Twilio's status or a refusal
    Column("answered_by", String(32)),
    Column("duration_s", Float),
    Column("detail", Text),  # why refused, failed or unknown, in words
    Column("claimed_by", String(100)),  # the worker on it (host:pid:id)
    Column("claimed_at", DateTime(timezone=True)),  # renewed while the worker is on it
    Index("ix_campaign_contacts_due", "campaign_id", "state", "next_attempt_at"),
    Index("ix_campaign_contacts_sid", "call_sid"),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)


def _v1_create(conn: Connection) -> None:
    for table in (calls, turns, extractions):
        table.create(conn, checkfirst=True)


def _v2_turn_failure(conn: Connection) -> None:
    # v1 databases have no turns.failure (a fresh v1 create already made it from the table).
    from sqlalchemy import inspect, text

    if "failure" not in {c["name"] for c in inspect(conn).get_columns("turns")}:
        conn.execute(text("ALTER TABLE turns ADD COLUMN failure VARCHAR(100)"))


def _v3_call_recording(conn: Connection) -> None:
    # The recording's file, length and deletion (a fresh v1 create already made them).
    from sqlalchemy import inspect, text

    have = {c["name"] for c in inspect(conn).get_columns("calls")}
    for name, kind in (
        ("recording_path", "VARCHAR(1024)"),
        ("recording_duration_s", "FLOAT"),
        ("recording_deleted_at", "TIMESTAMP WITH TIME ZONE"),
    ):
        if name not in have:
            conn.execute(text(f"ALTER TABLE calls ADD COLUMN {name} {kind}"))
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_calls_recording_path ON calls (recording_path)")
    )


def _v4_transfers(conn: Connection) -> None:
    transfers.create(conn, checkfirst=True)


def _v5_messages(conn: Connection) -> None:
    messages.create(conn, checkfirst=True)


def _v6_end_reason(conn: Connection) -> None:
    # Why the call ended, next to its outcome (a fresh v1 create already made it).
    from sqlalchemy import inspect, text

    if "end_reason" not in {c["name"] for c in inspect(conn).get_columns("calls")}:
        conn.execute(text("ALTER TABLE calls ADD COLUMN end_reason VARCHAR(200)"))


def _v7_outbound(conn: Connection) -> None:
    # Outbound calls and the do-not-call list (a fresh v1 create already made the columns).
    from sqlalchemy import inspect, text

    have = {c["name"] for c in inspect(conn).get_columns("calls")}
    for name, kind in (
        ("direction", "VARCHAR(16)"),
        ("call_status", "VARCHAR(32)"),
        ("answered_by", "VARCHAR(16)"),
        ("answered_reason", "VARCHAR(200)"),
        ("tag", "VARCHAR(200)"),
    ):
        if name not in have:
            conn.execute(text(f"ALTER TABLE calls ADD COLUMN {name} {kind}"))
    call_events.create(conn, checkfirst=True)
    do_not_call.create(conn, checkfirst=True)


def _v8_campaigns(conn: Connection) -> None:
    campaigns.create(conn, checkfirst=True)
    campaign_contacts.create(conn, checkfirst=True)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (
    _v1_create,
    _v2_turn_failure,
    _v3_call_recording,
    _v4_transfers,
    _v5_messages,
    _v6_end_reason,
    _v7_outbound,
    _v8_campaigns,
)
SCHEMA_VERSION = len(MIGRATIONS)


async def rows_of_call(conn: AsyncConnection, table: Table, call_sid: str, *order_by) -> list:
    """The rows of `table` that belong to one call, in `order_by` order, as mappings."""
    query = select(table).where(table.c.call_sid == call_sid).order_by(*order_by)
    return list((await conn.execute(query)).mappings().all())

"""A call's recording in its record: where the file is, how long it is, when it was deleted.

Three record events, written by the one record writer like the others (agent/records/
writer.py; the store applies them last in a batch, in their own order):

    RecordingStarted   the file exists and holds the call's first block: its path
    RecordingEnded     the call is over and the file closed: its length in seconds
    RecordingDeleted   RECORDING_RETENTION_DAYS removed the file (by path: a file may
                       outlive a lost record, and retention goes by the files)

A call whose server died mid-call keeps its path and no length: the file is still a
readable WAV up to its last block (agent/recording/wav.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from agent.records import models as m


@dataclass(frozen=True)
class RecordingStarted:
    call_sid: str
    path: str


@dataclass(frozen=True)
class RecordingEnded:
    call_sid: str
    duration_s: float


@dataclass(frozen=True)
class RecordingDeleted:
    path: str
    deleted_at: datetime


RecordingEvent = RecordingStarted | RecordingEnded | RecordingDeleted
RECORDING_EVENTS = (RecordingStarted, RecordingEnded, RecordingDeleted)


async def apply_recording_events(conn, events: list[RecordingEvent]) -> None:
    """Each event as one UPDATE, in order (a few per call: no batching needed)."""
    calls = m.calls.c
    for e in events:
        if isinstance(e, RecordingStarted):
            stmt = (
                update(m.calls)
                .where(calls.call_sid == e.call_sid)
                .values(recording_path=e.path, recording_deleted_at=None)
            )
        elif isinstance(e, RecordingEnded):
            stmt = (
                update(m.calls)
                .where(calls.call_sid == e.call_sid)
                .values(recording_duration_s=e.duration_s)
            )
        else:
            stmt = (
                update(m.calls)
                .where(calls.recording_path == e.path, calls.recording_deleted_at.is_(None))
                .values(recording_deleted_at=e.deleted_at)
            )
        await conn.execute(stmt)


def recording_dict(row, iso) -> dict | None:
    """The record's `recording` field: None when the call was not recorded."""
    if row["recording_path"] is None:
        return None
    return {
        "path": row["recording_path"],
        "duration_s": row["recording_duration_s"],
        "deleted_at": iso(row["recording_deleted_at"]),
    }

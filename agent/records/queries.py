"""Filters for listing calls (the dashboard's History, `GET /calls`), the same SQL on SQLite
and Postgres: by number, by a failed turn, by an extracted field.

`store.list_calls` takes these as keyword arguments and adds `call_filters(...)` to its
WHERE clause. An extracted field is read with SQLAlchemy's JSON index (SQLite's
json_extract, Postgres's ->>), compared case-insensitively as text.
"""

from __future__ import annotations

from sqlalchemy import exists, func, or_, select

from agent.records import models as m


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def call_filters(
    *,
    number: str | None = None,
    failure: str | None = None,
    field: str | None = None,
    value: str | None = None,
) -> list:
    """WHERE conditions on `calls`.

    number: part of the caller's or the called number (or the CallSid);
    failure: "any" (a turn failed), else a stage ("stt", "llm", "tts") or "stage:reason";
    field (+ value): the latest extraction has `field` (containing `value`, any case).
    """
    where = []
    if number:
        pattern = _like(number.strip())
        where.append(
            or_(
                m.calls.c.from_number.like(pattern, escape="\\"),
                m.calls.c.to_number.like(pattern, escape="\\"),
                m.calls.c.call_sid.like(pattern, escape="\\"),
            )
        )
    if failure:
        failed = m.turns.c.failure.is_not(None)
        if failure != "any":
            prefix = failure if ":" in failure else f"{failure}:"
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            failed = m.turns.c.failure.like(f"{escaped}%", escape="\\")
        where.append(
            exists(select(m.turns.c.seq).where(m.turns.c.call_sid == m.calls.c.call_sid, failed))
        )
    if field:
        extracted = m.calls.c.extraction[field].as_string()
        if value:
            where.append(func.lower(extracted).like(_like(value.lower()), escape="\\"))
        else:
            where.append(extracted.is_not(None))
    return where

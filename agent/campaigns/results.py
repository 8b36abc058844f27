"""The results CSV: one row per contact, in the list's order.

    number, <the list's variables>, timezone, state, attempts, outcome, answered_by,
    call_sid, last_attempt_at, next_attempt_at, detail

`state` is the contact's (states.py), `outcome` the last attempt's (Twilio's status, or why
it was refused), times are UTC ISO 8601. Written to a temporary file and renamed, so a
reader never sees half a file. The variables are the owner's own data, written back to the
owner's file only.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

FIXED = (
    "timezone",
    "state",
    "attempts",
    "outcome",
    "answered_by",
    "call_sid",
    "last_attempt_at",
    "next_attempt_at",
    "detail",
)


def _iso(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def results_csv(rows: Sequence[dict]) -> str:
    """The CSV text for the contact rows of store.contact_rows."""
    names: list[str] = []
    for row in rows:
        for name in row["vars"] or {}:
            if name not in names:
                names.append(name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["number", *names, *FIXED])
    for row in rows:
        variables = row["vars"] or {}
        writer.writerow(
            [
                row["number"],
                *(variables.get(name, "") for name in names),
                row["timezone"],
                row["state"],
                row["attempts"],
                row["outcome"] or "",
                row["answered_by"] or "",
                row["call_sid"] or "",
                _iso(row["last_attempt_at"]),
                _iso(row["next_attempt_at"]) if row["state"] == "pending" else "",
                row["detail"] or "",
            ]
        )
    return out.getvalue()


def write_results(path: Path, rows: Sequence[dict]) -> None:
    """Write the results CSV to `path` (atomically: a temporary file renamed)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(results_csv(rows), encoding="utf-8")
    os.replace(tmp, path)

"""Reading the times people type to filter call records (`?since=`, `--since`): ISO dates or
date-times, UTC unless they say otherwise. Shared by the records API and `agent calls`."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(raw: str, name: str) -> datetime:
    """An ISO date or date-time (a trailing Z allowed; no zone means UTC).

    Raises ValueError naming `name` (the query parameter or option) when `raw` is neither.
    """
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: expected an ISO date or date-time, not {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)

"""The calling window ("09:00-20:00"), read in each callee's own time zone.

A campaign never calls anyone outside its window in the callee's zone: `is_open(at, zone)`
says whether a call may start at `at`, and `next_opening(at, zone)` when the window opens
next (`at` itself when open), so a contact outside it is scheduled for then rather than
skipped. Times are wall-clock times in the zone, so the window follows daylight saving
time (a start inside the skipped hour of a spring-forward day opens at the first instant
after it). A window may run past midnight ("20:00-02:00": open from 20:00 to 02:00 the
next morning). The start is included, the end is not (09:00-20:00 is closed at 20:00:00).

The instant comes from the caller (an injected WallClock, agent/graph/hours.py), so the
tests pin it.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone `name`; ValueError with the name when there is no such zone."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name: Europe/Paris)") from exc


@dataclass(frozen=True)
class CallWindow:
    """Minutes after local midnight: [start, end), wrapping past midnight when end < start."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> CallWindow:
        match = _RANGE.match(text.strip())
        if not match:
            raise ValueError(f"window {text!r} should be HH:MM-HH:MM, e.g. 09:00-20:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"window {text!r}: no such time of day")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start == end:
            raise ValueError(f"window {text!r} is empty (its start is its end)")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"

    def _open_at_minute(self, minute: float) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def is_open(self, at: datetime, zone_name: str) -> bool:
        """Whether a call may start at `at` (timezone-aware) for a callee in `zone_name`."""
        local = _aware(at).astimezone(zone(zone_name))
        return self._open_at_minute(local.hour * 60 + local.minute + local.second / 60)

    def next_opening(self, at: datetime, zone_name: str) -> datetime:
        """`at` when the window is open then, else the next instant it opens (UTC)."""
        at = _aware(at)
        if self.is_open(at, zone_name):
            return at.astimezone(UTC)
        tz = zone(zone_name)
        local = at.astimezone(tz)
        start = time(self.start // 60, self.start % 60)
        for days in range(0, 3):
            day = local.date() + timedelta(days=days)
            candidate = _local_instant(datetime.combine(day, start), tz)
            if candidate > at:
                return candidate.astimezone(UTC)
        raise AssertionError("a daily window opens within two days")


def _local_instant(naive: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """The instant the clocks in `tz` show `naive`; in a spring-forward gap, the gap's end
    (the first instant whose wall time is past `naive`)."""
    aware = naive.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return aware
    # No such wall time. fold=1 reads it with the offset after the jump (an instant before
    # the gap), fold=0 with the one before (after it): the gap's end lies between.
    instant = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    latest = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    while instant < latest and instant.astimezone(tz).replace(tzinfo=None) < naive:
        instant += timedelta(minutes=1)
    return instant


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the calling window needs a timezone-aware datetime")
    return at


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"

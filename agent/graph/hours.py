"""Business hours: a graph's `hours:` read into a Schedule, and whether the line is open.

    hours:
      timezone: America/New_York
      weekly: {mon-fri: "09:00-17:00", sat: ["10:00-12:00", "13:00-14:00"]}
      closed: ["2026-12-25"]
      after_hours: {greeting: "We're closed ...", take_message: true}   # or {graph: night}

`read_schedule` (agent/graph/hours_read.py) checks and compiles it, with did-you-mean
errors; this module is what a Schedule means at run time. Opening times are wall-clock
times in the zone, so they follow daylight saving time: on the day clocks go forward the
skipped hour never happens, and on the day they go back the repeated hour is open (or
closed) twice.
A range runs from its first minute (open at 09:00:00) to its last (closed at 17:00:00).
Overnight ranges ("22:00-02:00") are refused: write "22:00-24:00" on one day and
"00:00-02:00" on the next, so every day's hours are read on that day's line.

The decision for a call is made once, at the voice webhook, from an injected `WallClock`
(tests pin it): `Schedule.state(now)` → `LineState`, which travels with the call
(`CallInfo.line`). What the rest of a call may ask:

    call.line.open           the line was open when the call came in (transfers are offered
                             only then; the after-hours graph's own hours, if any, decide
                             for its calls)
    call.line.after_hours    the call came in outside the number's business hours (also true
                             on the after-hours graph a closed line handed the call to)
    call.line.take_message   the call started with the after-hours greeting in
                             message-taking mode (`after_hours: {take_message: true}`)
    Schedule.is_open(at)     for a decision later in the call (BuildContext.line_open_now)
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from agent.graph.model import AfterHours

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
CLOSED_WORD = "closed"


# --- the clock and the line's state ----------------------------------------------------------


class WallClock(Protocol):
    """What the hours need of time: the current instant, timezone-aware."""

    def now(self) -> datetime: ...


class SystemWallClock:
    """The real time, in UTC."""

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


SYSTEM_WALL_CLOCK: WallClock = SystemWallClock()


@dataclass(frozen=True)
class FixedWallClock:
    """A pinned instant (tests): `now()` is always `at`, which must be timezone-aware."""

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("FixedWallClock needs a timezone-aware datetime")

    def now(self) -> datetime:
        return self.at


@dataclass(frozen=True)
class LineState:
    """Whether the line was open when a call came in, and what that means for the call."""

    open: bool = True
    # "no hours", "open", "outside opening hours", "closed on 2026-12-25"; on the graph a
    # closed line handed the call to (answered_for), why it was handed over.
    reason: str = "no hours"
    greeting: str | None = None  # said instead of call.greeting (after_hours.greeting)
    take_message: bool = False  # start in message-taking mode (after_hours.take_message)
    answered_for: str | None = None  # the closed graph whose after_hours.graph answers

    @property
    def after_hours(self) -> bool:
        """The call came in outside the business hours of the number it called."""
        return not self.open or self.answered_for is not None


ALWAYS_OPEN = LineState()


# --- the schedule ------------------------------------------------------------------------------

Range = tuple[int, int]  # minutes since midnight: [start, end)


@dataclass(frozen=True)
class Schedule:
    """Compiled business hours; `weekly[0]` is Monday's ranges, sorted."""

    zone: zoneinfo.ZoneInfo
    weekly: tuple[tuple[Range, ...], ...]
    closed: frozenset[date]
    after_hours: AfterHours | None = None

    @property
    def timezone(self) -> str:
        return self.zone.key

    def is_open(self, at: datetime) -> bool:
        """Whether the line is open at the instant `at` (timezone-aware)."""
        return self._why_closed(at) is None

    def state(self, at: datetime) -> LineState:
        """The line's state for a call coming in at `at`."""
        why = self._why_closed(at)
        if why is None:
            return LineState(open=True, reason="open")
        after = self.after_hours
        if after is not None and after.greeting:
            return LineState(False, why, greeting=after.greeting, take_message=after.take_message)
        return LineState(False, why)

    def _why_closed(self, at: datetime) -> str | None:
        if at.tzinfo is None:
            raise ValueError("is_open needs a timezone-aware datetime (the WallClock's now())")
        local = at.astimezone(self.zone)
        if local.date() in self.closed:
            return f"closed on {local.date().isoformat()}"
        minute = local.hour * 60 + local.minute
        if any(start <= minute < end for start, end in self.weekly[local.weekday()]):
            return None
        return "outside opening hours"

    def table(self) -> list[str]:
        """The week, one line a day: `mon  09:00-17:00`, `sun  closed`."""
        return [f"{day}  {_ranges_text(self.weekly[i])}" for i, day in enumerate(DAYS)]

    def summary(self) -> str:
        """One line: `mon-fri 09:00-17:00; sat 10:00-14:00 (America/New_York)`."""
        groups: list[tuple[int, int, str]] = []
        for i in range(7):
            text = _ranges_text(self.weekly[i])
            if groups and groups[-1][2] == text and groups[-1][1] == i - 1:
                groups[-1] = (groups[-1][0], i, text)
            else:
                groups.append((i, i, text))
        parts = [
            f"{DAYS[a]}{'-' + DAYS[b] if b > a else ''} {text}"
            for a, b, text in groups
            if text != CLOSED_WORD
        ]
        return f"{'; '.join(parts) or 'never open'} ({self.timezone})"


def _ranges_text(ranges: Sequence[Range]) -> str:
    return ", ".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in ranges) or CLOSED_WORD


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"

"""Business hours: a graph's `hours:` read into a Schedule, and whether the line is open.

    hours:
      timezone: America/New_York
      weekly: {mon-fri: "09:00-17:00", sat: ["10:00-12:00", "13:00-14:00"]}
      closed: ["2026-12-25"]
      after_hours: {greeting: "We're closed ...", take_message: true}   # or {graph: night}

`read_schedule` checks what the model (agent/graph/model.py HoursSettings) cannot: the zone
is in the IANA database, days and times are real, a day's ranges do not overlap, closed
dates are dates, and `after_hours.graph` names another graph in the folder; every problem
with its location and a did-you-mean. Opening times are wall-clock times in the zone, so
they follow daylight saving time: on the day clocks go forward the skipped hour never
happens, and on the day they go back the repeated hour is open (or closed) twice.
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

import functools
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from agent.graph.model import AfterHours, HoursSettings
from agent.graph.suggest import did_you_mean, hint

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ALIASES = {"weekdays": "mon-fri", "weekends": "sat-sun", "weekend": "sat-sun"}
_ALIASES |= {"daily": "mon-sun", "everyday": "mon-sun", "all": "mon-sun"}
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
    return ", ".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in ranges) or CLOSED_WORD


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- reading and checking ----------------------------------------------------------------------


@functools.cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def read_schedule(
    hours: HoursSettings,
    *,
    graph: str,
    graph_names: Iterable[str],
    skip: set[Loc] = frozenset(),
) -> tuple[Schedule | None, list[Problem]]:
    """Check `hours` (located under `hours.`) and compile it; (None, problems) if any.

    `graph` is this graph's name and `graph_names` the graphs beside it (for
    `after_hours.graph`); locations in `skip` hold an unresolved ${env:...} (reported by
    the env pass) and are not checked again.
    """
    problems: list[Problem] = []
    zone = None
    if ("hours", "timezone") not in skip:
        zone, problem = read_zone(hours.timezone)
        if problem:
            problems.append((("hours", "timezone"), problem))
    weekly, weekly_problems = read_weekly(hours.weekly, skip)
    problems += weekly_problems
    closed: set[date] = set()
    for i, value in enumerate(hours.closed):
        if ("hours", "closed", i) in skip:
            continue
        day, problem = read_date(value)
        if problem:
            problems.append((("hours", "closed", i), problem))
        else:
            closed.add(day)
    after = hours.after_hours
    if after is not None and after.graph is not None:
        loc = ("hours", "after_hours", "graph")
        names = [n for n in graph_names if n != graph]
        if after.graph == graph:
            problems.append((loc, "names this graph itself; name the graph that answers instead"))
        elif after.graph not in names and loc not in skip:
            known = f"; graphs here: {', '.join(sorted(names))}" if names else ""
            problems.append(
                (loc, f"unknown graph '{after.graph}'{hint(after.graph, names)}{known}")
            )
    if problems or zone is None:
        return None, problems
    return Schedule(zone, weekly, frozenset(closed), after), []


def read_zone(name: str) -> tuple[zoneinfo.ZoneInfo | None, str | None]:
    """The IANA zone `name`, or why not (with a did-you-mean)."""
    try:
        if name and name in known_zones():
            return zoneinfo.ZoneInfo(name), None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    if not known_zones():
        return None, "no time zone database on this machine: pip install tzdata"
    close = did_you_mean(name, known_zones(), cutoff=0.5) if name else None
    suggestion = f" (did you mean '{close}'?)" if close else ""
    return None, f"unknown time zone '{name}'{suggestion}; use an IANA name like Europe/London"


def read_date(value: object) -> tuple[date | None, str | None]:
    if isinstance(value, datetime):
        return None, f"'{value}' is a date and time; a closed date is a whole day (YYYY-MM-DD)"
    if isinstance(value, date):
        return value, None
    text = str(value).strip()
    if not _DATE.match(text):
        return None, f"'{text}' is not a date; write YYYY-MM-DD, e.g. 2026-12-25"
    try:
        return date.fromisoformat(text), None
    except ValueError as exc:
        return None, f"'{text}' is not a date ({exc})"


def read_weekly(
    weekly: dict[str, str | list[str]], skip: set[Loc] = frozenset()
) -> tuple[tuple[tuple[Range, ...], ...], list[Problem]]:
    """Each day's sorted ranges; problems for unknown days, bad times, overlaps."""
    problems: list[Problem] = []
    # day -> [(start, end, key, text)], and the keys that said "closed" for it
    by_day: list[list[tuple[int, int, str, str]]] = [[] for _ in DAYS]
    closed_by: list[list[str]] = [[] for _ in DAYS]
    for key, value in weekly.items():
        loc: Loc = ("hours", "weekly", key)
        days, problem = read_days(key)
        if problem:
            problems.append((loc, problem))
            continue
        if loc in skip:
            continue
        texts = value if isinstance(value, list) else [value]
        pieces = [(i, p.strip()) for i, t in enumerate(texts) for p in str(t).split(",")]
        for i, piece in pieces:
            where = (*loc, i) if isinstance(value, list) else loc
            if piece.lower() == CLOSED_WORD and len(pieces) == 1:
                for day in days:
                    closed_by[day].append(key)
                continue
            span, problem = read_range(piece)
            if problem:
                problems.append((where, problem))
                continue
            for day in days:
                by_day[day].append((*span, key, piece))
    problems += _overlaps(by_day, closed_by)
    weekly_ranges = tuple(tuple(sorted((a, b) for a, b, _, _ in day)) for day in by_day)
    return weekly_ranges, problems


def read_days(key: str) -> tuple[list[int], str | None]:
    """`mon`, `mon-fri`, `sat, sun`, `mon-wed, fri` → weekday numbers (Monday 0)."""
    days: list[int] = []
    for part in str(key).split(","):
        part = part.strip().lower()
        ends = [p.strip() for p in part.split("-")] if "-" in part else [part]
        if len(ends) > 2:
            return [], f"'{key}': a day range is two days, like mon-fri"
        found = []
        for word in ends:
            if word not in DAYS:
                return (
                    [],
                    f"'{key}': unknown day '{word}'{_day_hint(word)}; days are {', '.join(DAYS)}",
                )
            found.append(DAYS.index(word))
        if len(found) == 2 and found[0] > found[1]:
            a, b = ends
            return [], (
                f"'{key}': a day range runs forward through the week; write '{a}-sun, mon-{b}'"
                if b != "mon"
                else f"'{key}': a day range runs forward through the week; write '{a}-sun, mon'"
            )
        days += range(found[0], found[-1] + 1)
    return sorted(set(days)), None


def _day_hint(word: str) -> str:
    if word in _ALIASES:
        return f" (did you mean '{_ALIASES[word]}'?)"
    for full, short in zip(_FULL, DAYS, strict=True):
        if len(word) >= 2 and (full.startswith(word) or word.startswith(full)):
            return f" (did you mean '{short}'?)"
    close = did_you_mean(word, [*DAYS, *_FULL])
    if close:
        return f" (did you mean '{DAYS[_FULL.index(close)] if close in _FULL else close}'?)"
    return ""


def read_range(text: str) -> tuple[Range, str | None]:
    """`09:00-17:00` → (540, 1020); "24:00" ends a day."""
    match = _RANGE.match(text)
    if not match:
        return (0, 0), f"'{text}' is not a time range; write HH:MM-HH:MM, e.g. 09:00-17:00"
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    for h, m in ((h1, m1), (h2, m2)):
        if m > 59 or h > 24 or (h == 24 and m > 0):
            return (0, 0), f"'{text}': {h:02d}:{m:02d} is not a time of day (00:00 to 24:00)"
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == DAY_MINUTES:
        return (0, 0), f"'{text}': a range cannot start at 24:00; start it at 00:00 the next day"
    if end == start:
        return (0, 0), f"'{text}' is empty: it ends when it starts"
    if end < start:
        return (0, 0), (
            f"'{text}' runs past midnight; overnight ranges are not supported: write "
            f"'{_hhmm(start)}-24:00' on this day and '00:00-{_hhmm(end)}' on the next"
        )
    return (start, end), None


def _overlaps(
    by_day: list[list[tuple[int, int, str, str]]], closed_by: list[list[str]]
) -> list[Problem]:
    found: dict[tuple, list[str]] = {}  # (key_a, text_a, key_b, text_b) -> days
    for day, ranges in enumerate(by_day):
        for closer in closed_by[day]:
            for _, _, key, text in ranges:
                found.setdefault((closer, CLOSED_WORD, key, text), []).append(DAYS[day])
        ordered = sorted(ranges)
        for i, (_, end_a, key_a, text_a) in enumerate(ordered):
            for start_b, _, key_b, text_b in ordered[i + 1 :]:
                if start_b < end_a:
                    found.setdefault((key_a, text_a, key_b, text_b), []).append(DAYS[day])
    problems: list[Problem] = []
    for (key_a, text_a, key_b, text_b), days in found.items():
        own = key_a == key_b
        if text_a == CLOSED_WORD:
            message = f"'{key_a}' says closed but '{key_b}' opens {text_b} on {', '.join(days)}"
        else:
            where = "" if own else f" (from '{key_a}')"
            message = f"{text_b} overlaps {text_a}{where} on {', '.join(days)}"
        problems.append((("hours", "weekly", key_b), message))
    return problems

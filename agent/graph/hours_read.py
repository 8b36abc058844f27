"""Reading a graph's `hours:` (agent/graph/model.py HoursSettings) into a Schedule.

`read_schedule` checks what the model cannot: the zone is in the IANA database, days and
times are real, a day's ranges do not overlap (also across keys: `mon-fri` and `mon`),
closed dates are dates, and `after_hours.graph` names another graph in the folder; every
problem with its location under `hours.` and, for a near miss, a did-you-mean. Overnight
ranges ("22:00-02:00") are refused with the two ranges to write instead, so every day's
hours are read on that day's line. What a Schedule means at run time: agent/graph/hours.py.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime

from agent.graph.hours import CLOSED_WORD, DAY_MINUTES, DAYS, Range, Schedule, hhmm
from agent.graph.model import HoursSettings
from agent.graph.suggest import did_you_mean, hint

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ALIASES = {"weekdays": "mon-fri", "weekends": "sat-sun", "weekend": "sat-sun"}
_ALIASES |= {"daily": "mon-sun", "everyday": "mon-sun", "all": "mon-sun"}
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
            f"'{hhmm(start)}-24:00' on this day and '00:00-{hhmm(end)}' on the next"
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

"""Business hours (agent/graph/hours.py, hours_read.py): reading, checking, and open or closed at an instant.

Every instant is written out (no test depends on today's date or time); the zone is
America/New_York, whose 2026 clock changes are on 8 March (02:00 EST → 03:00 EDT) and
1 November (02:00 EDT → 01:00 EST).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from agent.graph.hours import ALWAYS_OPEN, FixedWallClock, LineState
from agent.graph.hours_read import read_days, read_range, read_schedule, read_zone
from agent.graph.model import HoursSettings

NY = ZoneInfo("America/New_York")


def schedule(**hours):
    settings = HoursSettings.model_validate({"timezone": "America/New_York", **hours})
    compiled, problems = read_schedule(settings, graph="front", graph_names=["front", "night"])
    assert problems == []
    return compiled


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


WEEKDAYS = schedule(weekly={"mon-fri": "09:00-17:00", "sat": ["10:00-12:00", "13:00-14:00"]})


@pytest.mark.parametrize(
    "at,is_open",
    [
        (local(2026, 12, 7, 8, 59, 59), False),  # Monday, a second before opening
        (local(2026, 12, 7, 9, 0), True),  # the opening minute
        (local(2026, 12, 7, 16, 59, 59), True),  # the last second
        (local(2026, 12, 7, 17, 0), False),  # the closing minute is closed
        (local(2026, 12, 7, 23, 0), False),
        (local(2026, 12, 12, 11, 0), True),  # Saturday morning
        (local(2026, 12, 12, 12, 30), False),  # Saturday lunch
        (local(2026, 12, 12, 13, 59), True),
        (local(2026, 12, 13, 11, 0), False),  # Sunday is not listed: closed
    ],
)
def test_open_from_the_first_minute_to_the_last(at, is_open):
    assert WEEKDAYS.is_open(at) is is_open
    assert WEEKDAYS.is_open(at.astimezone(UTC)) is is_open  # the same instant in UTC


def test_opening_times_follow_daylight_saving_time():
    # 13:30 UTC is 08:30 EST on Friday 6 March, 09:30 EDT on Monday 9 March.
    assert not WEEKDAYS.is_open(utc(2026, 3, 6, 13, 30))
    assert WEEKDAYS.is_open(utc(2026, 3, 9, 13, 30))
    # 21:30 UTC is 16:30 EST in winter (open) but 17:30 EDT in spring (closed).
    assert WEEKDAYS.is_open(utc(2026, 3, 6, 21, 30))
    assert not WEEKDAYS.is_open(utc(2026, 3, 9, 21, 30))


def test_the_skipped_hour_never_happens_and_the_repeated_one_happens_twice():
    spring = schedule(weekly={"sun": "02:00-03:00"})  # 8 March: 02:00-03:00 does not exist
    assert not spring.is_open(utc(2026, 3, 8, 6, 59))  # 01:59 EST
    assert not spring.is_open(utc(2026, 3, 8, 7, 0))  # 03:00 EDT, a minute later
    autumn = schedule(weekly={"sun": "01:00-02:00"})  # 1 November: 01:00-02:00 twice
    assert autumn.is_open(utc(2026, 11, 1, 5, 30))  # 01:30 EDT
    assert autumn.is_open(utc(2026, 11, 1, 6, 30))  # 01:30 EST, an hour later
    assert not autumn.is_open(utc(2026, 11, 1, 7, 30))  # 02:30 EST


def test_closed_dates_are_whole_local_days():
    hours = schedule(weekly={"mon-fri": "09:00-17:00"}, closed=["2026-12-25"])
    assert not hours.is_open(local(2026, 12, 25, 10, 0))  # a Friday
    assert hours.state(local(2026, 12, 25, 10, 0)).reason == "closed on 2026-12-25"
    # 03:00 UTC on the 25th is still the 24th in New York: its own hours apply.
    assert hours.state(utc(2026, 12, 25, 3, 0)).reason == "outside opening hours"
    assert hours.is_open(local(2026, 12, 24, 16, 0))
    assert hours.is_open(local(2026, 12, 28, 9, 0))


def test_state_carries_the_after_hours_greeting_and_message_mode():
    greeting = "We're closed. Leave a message."
    hours = schedule(
        weekly={"mon-fri": "09:00-17:00"},
        after_hours={"greeting": greeting, "take_message": True},
    )
    assert hours.state(local(2026, 12, 7, 10, 0)) == LineState(True, "open")
    closed = hours.state(local(2026, 12, 7, 23, 0))
    assert closed == LineState(False, "outside opening hours", greeting, take_message=True)
    assert closed.after_hours and not closed.open
    other = schedule(weekly={"mon-fri": "09:00-17:00"}, after_hours={"graph": "night"})
    assert other.state(local(2026, 12, 7, 23, 0)) == LineState(False, "outside opening hours")
    assert ALWAYS_OPEN.open and not ALWAYS_OPEN.after_hours
    assert LineState(True, "open", answered_for="front").after_hours


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        WEEKDAYS.is_open(datetime(2026, 12, 7, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedWallClock(datetime(2026, 12, 7, 10, 0))
    assert FixedWallClock(utc(2026, 12, 7, 10)).now() == utc(2026, 12, 7, 10)


def test_table_and_summary():
    assert WEEKDAYS.table() == [
        "mon  09:00-17:00",
        "tue  09:00-17:00",
        "wed  09:00-17:00",
        "thu  09:00-17:00",
        "fri  09:00-17:00",
        "sat  10:00-12:00, 13:00-14:00",
        "sun  closed",
    ]
    assert WEEKDAYS.summary() == (
        "mon-fri 09:00-17:00; sat 10:00-12:00, 13:00-14:00 (America/New_York)"
    )


def test_several_keys_and_forms_make_one_week():
    hours = schedule(
        weekly={
            "mon-wed, fri": "09:00-12:00, 13:00-17:00",
            "thu": "closed",
            "sat,sun": "00:00-24:00",
        }
    )
    assert hours.weekly[0] == ((540, 720), (780, 1020))
    assert hours.weekly[3] == ()
    assert hours.weekly[4] == ((540, 720), (780, 1020))
    assert hours.weekly[6] == ((0, 1440),)
    assert hours.is_open(local(2026, 12, 13, 23, 59))  # Sunday, up to midnight


@pytest.mark.parametrize(
    "key,days,problem",
    [
        ("mon", [0], None),
        ("MON-fri", [0, 1, 2, 3, 4], None),
        ("sat, sun", [5, 6], None),
        ("mon-tue, thu-fri", [0, 1, 3, 4], None),
        ("thurs", [], "'thurs': unknown day 'thurs' (did you mean 'thu'?); days are mon, tue, wed, thu, fri, sat, sun"),
        ("monday-friday", [], "'monday-friday': unknown day 'monday' (did you mean 'mon'?); days are mon, tue, wed, thu, fri, sat, sun"),
        ("weekdays", [], "'weekdays': unknown day 'weekdays' (did you mean 'mon-fri'?); days are mon, tue, wed, thu, fri, sat, sun"),
        ("fri-mon", [], "'fri-mon': a day range runs forward through the week; write 'fri-sun, mon'"),
        ("sat-tue", [], "'sat-tue': a day range runs forward through the week; write 'sat-sun, mon-tue'"),
        ("mon-wed-fri", [], "'mon-wed-fri': a day range is two days, like mon-fri"),
    ],
)  # fmt: skip
def test_days(key, days, problem):
    assert read_days(key) == (days, problem)


@pytest.mark.parametrize(
    "text,span,problem",
    [
        ("09:00-17:00", (540, 1020), None),
        ("9:30 - 12:00", (570, 720), None),
        ("00:00-24:00", (0, 1440), None),
        ("9-5", None, "'9-5' is not a time range; write HH:MM-HH:MM, e.g. 09:00-17:00"),
        ("9am-5pm", None, "'9am-5pm' is not a time range; write HH:MM-HH:MM, e.g. 09:00-17:00"),
        ("09:00-25:00", None, "'09:00-25:00': 25:00 is not a time of day (00:00 to 24:00)"),
        ("09:60-17:00", None, "'09:60-17:00': 09:60 is not a time of day (00:00 to 24:00)"),
        ("24:00-24:00", None, "'24:00-24:00': a range cannot start at 24:00; start it at 00:00 the next day"),
        ("09:00-09:00", None, "'09:00-09:00' is empty: it ends when it starts"),
        ("22:00-02:00", None, "'22:00-02:00' runs past midnight; overnight ranges are not supported: write '22:00-24:00' on this day and '00:00-02:00' on the next"),
    ],
)  # fmt: skip
def test_ranges(text, span, problem):
    got_span, got_problem = read_range(text)
    assert got_problem == problem
    if span is not None:
        assert got_span == span


def test_zones():
    zone, problem = read_zone("Europe/London")
    assert zone == ZoneInfo("Europe/London") and problem is None
    assert read_zone("America/New_Yrok")[1] == (
        "unknown time zone 'America/New_Yrok' (did you mean 'America/New_York'?); "
        "use an IANA name like Europe/London"
    )
    assert read_zone("Mars/Olympus")[1].startswith("unknown time zone 'Mars/Olympus'")
    assert read_zone("../../etc/passwd")[0] is None


def test_closed_dates_read_as_text_even_unquoted():
    hours = schedule(weekly={"mon": "09:00-10:00"}, closed=["2026-12-25", date(2027, 1, 1)])
    assert hours.closed == frozenset({date(2026, 12, 25), date(2027, 1, 1)})

"""The calling window in the callee's zone: open or not, and its next opening (DST too)."""

from datetime import UTC, datetime

import pytest

from agent.campaigns.retry import RetryPolicy
from agent.campaigns.window import CallWindow


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_parse_and_errors():
    assert str(CallWindow.parse("9:00-20:30")) == "09:00-20:30"
    assert CallWindow.parse("00:00-24:00") == CallWindow(0, 1440)
    for bad, why in [
        ("9-5", "HH:MM-HH:MM"),
        ("25:00-26:00", "no such time"),
        ("10:00-10:00", "empty"),
    ]:
        with pytest.raises(ValueError, match=why):
            CallWindow.parse(bad)


def test_open_in_the_callees_zone_start_included_end_not():
    window = CallWindow.parse("09:00-20:00")
    # 08:00 UTC is 09:00 in Paris (winter), 03:00 in New York
    assert window.is_open(at(2026, 12, 7, 8, 0), "Europe/Paris")
    assert not window.is_open(at(2026, 12, 7, 8, 0), "America/New_York")
    assert not window.is_open(at(2026, 12, 7, 19, 0), "Europe/Paris")  # 20:00 there
    assert window.is_open(at(2026, 12, 7, 18, 59, 59), "Europe/Paris")


def test_next_opening_today_tomorrow_or_now():
    window = CallWindow.parse("09:00-20:00")
    now = at(2026, 12, 7, 12, 0)
    assert window.next_opening(now, "Europe/Paris") == now  # open: now
    # 07:00 in New York: opens at 09:00 there, 14:00 UTC
    assert window.next_opening(now, "America/New_York") == at(2026, 12, 7, 14, 0)
    # 21:00 in Tokyo: tomorrow 09:00 there, 00:00 UTC
    assert window.next_opening(now, "Asia/Tokyo") == at(2026, 12, 8, 0, 0)


def test_a_window_past_midnight():
    window = CallWindow.parse("20:00-02:00")
    assert window.is_open(at(2026, 12, 7, 1, 30), "UTC")
    assert not window.is_open(at(2026, 12, 7, 2, 0), "UTC")
    assert window.next_opening(at(2026, 12, 7, 3, 0), "UTC") == at(2026, 12, 7, 20, 0)


def test_daylight_saving_time():
    window = CallWindow.parse("09:00-20:00")
    # New York, 2026-03-08: clocks go forward at 02:00; 09:00 EDT is 13:00 UTC (not 14:00)
    assert window.next_opening(at(2026, 3, 8, 6, 0), "America/New_York") == at(2026, 3, 8, 13)
    assert window.next_opening(at(2026, 3, 7, 6, 0), "America/New_York") == at(2026, 3, 7, 14)
    # a start inside the skipped hour opens when the hour ends (03:00 EDT, 07:00 UTC)
    early = CallWindow.parse("02:30-20:00")
    assert early.next_opening(at(2026, 3, 8, 5, 0), "America/New_York") == at(2026, 3, 8, 7)


def test_backoff_doubles_capped_and_lands_in_the_window():
    policy = RetryPolicy(max_attempts=3, retry_after_s=600)
    assert [policy.delay_s(n) for n in (1, 2, 3)] == [600, 1200, 2400]
    assert RetryPolicy(10, 3600).delay_s(8) == 4 * 3600  # capped
    assert policy.retries("busy", 1) and policy.retries("no-answer", 2)
    assert not policy.retries("busy", 3)  # the limit
    assert not policy.retries("failed", 1) and not policy.retries("completed", 1)
    window = CallWindow.parse("09:00-20:00")
    # busy at 10:00 Paris: again at 10:10
    assert policy.next_attempt(at(2026, 12, 7, 9, 0), 1, window, "Europe/Paris") == at(
        2026, 12, 7, 9, 10
    )
    # busy at 19:55 Paris: not at 20:05, but tomorrow at 09:00
    assert policy.next_attempt(at(2026, 12, 7, 18, 55), 1, window, "Europe/Paris") == at(
        2026, 12, 8, 8, 0
    )
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)

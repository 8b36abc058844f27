"""agent/records/connect.py: waiting for the database, on a fake clock (no wall-clock sleeps)."""

from __future__ import annotations

import asyncpg
import pytest

from agent.config import SETTINGS_BY_NAME
from agent.records.connect import (
    CONNECT_TIMEOUT_S,
    DatabaseUnreachable,
    is_transient,
    wait_until_reachable,
    where,
)
from tests.records.test_store import FakeClock

URL = "postgresql://switchboard:pw-7d1a@db:5432/switchboard"


class Probe:
    """Raises these errors in turn, then succeeds; `calls` counts its runs."""

    def __init__(self, *errors: BaseException):
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


async def test_a_database_that_comes_up_is_waited_for():
    clock = FakeClock()
    probe = Probe(ConnectionRefusedError(111, "refused"), OSError("starting"))
    await wait_until_reachable(probe, URL, timeout_s=15, clock=clock, sleep=clock.sleep)
    assert probe.calls == 3 and clock.slept == [0.5, 1.0]


async def test_postgres_starting_up_is_worth_waiting_for():
    clock = FakeClock()
    probe = Probe(asyncpg.CannotConnectNowError("the database system is starting up"))
    await wait_until_reachable(probe, URL, timeout_s=15, clock=clock, sleep=clock.sleep)
    assert probe.calls == 2


async def test_a_refused_login_fails_at_once_naming_host_and_port():
    clock = FakeClock()
    probe = Probe(asyncpg.InvalidPasswordError('password authentication failed for "x"'))
    with pytest.raises(DatabaseUnreachable) as info:
        await wait_until_reachable(probe, URL, timeout_s=15, clock=clock, sleep=clock.sleep)
    assert clock.slept == [] and probe.calls == 1
    message = str(info.value)
    assert "database at db:5432 (DATABASE_URL) refused" in message
    assert "InvalidPasswordError" in message and "pw-7d1a" not in message


async def test_a_password_quoted_by_a_driver_is_masked():
    clock = FakeClock()
    probe = Probe(*[OSError("cannot connect as switchboard:pw-7d1a")] * 10)
    with pytest.raises(DatabaseUnreachable) as info:
        await wait_until_reachable(probe, URL, timeout_s=1, clock=clock, sleep=clock.sleep)
    assert "pw-7d1a" not in str(info.value) and "switchboard:****" in str(info.value)
    assert clock.slept == [0.5, 0.5] and clock.now == 1.0


def test_where_names_host_and_port():
    assert where(URL) == "db:5432"
    assert where("postgres://u@10.0.0.7:6543/calls") == "10.0.0.7:6543"
    assert where("postgresql://u:p@/calls?host=/run/postgresql") == "/run/postgresql:5432"
    assert where("postgresql:///calls") == "localhost:5432"


def test_only_connection_errors_are_transient():
    assert is_transient(ConnectionRefusedError()) and is_transient(TimeoutError())
    assert not is_transient(ValueError("bad url"))


def test_the_default_wait_is_the_settings_default():
    assert float(SETTINGS_BY_NAME["DATABASE_WAIT_SECONDS"].default) == CONNECT_TIMEOUT_S

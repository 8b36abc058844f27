"""The claim/resume state machine on SQLite and Postgres: claimed once, committed before
the dial, a stopped worker's contacts adopted or resolved, never redialled on a guess."""

from datetime import UTC, datetime, timedelta

import pytest

from agent.campaigns import claims, recovery
from agent.campaigns import states as s
from agent.campaigns.contacts_csv import Contact
from agent.campaigns.recovery import FoundCall, LookupFailed
from agent.campaigns.store import (
    contact_rows,
    counts,
    create_campaign,
    get_campaign,
)
from agent.records.store import Store
from tests.campaigns.fakes import reminder_settings

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SETTINGS = reminder_settings(window="09:00-20:00", concurrency=2, source="calls.csv")


@pytest.fixture
async def store(database_url):
    store = await Store.open(database_url)
    yield store
    await store.close()


async def _campaign(store, numbers, **tz) -> str:
    contacts = [Contact(i + 2, n, {"name": f"N{i}"}, tz.get(n)) for i, n in enumerate(numbers)]
    return await create_campaign(store.engine, SETTINGS, contacts, NOW)


async def _state(store, cid) -> dict[str, dict]:
    return {r["number"]: r for r in await contact_rows(store.engine, cid)}


async def test_claimed_in_order_once_and_committed_before_the_dial(store):
    cid = await _campaign(store, ["+15550000001", "+15550000002"])
    campaign = await get_campaign(store.engine, cid)
    assert campaign.settings == SETTINGS and campaign.state == "active"
    first = await claims.claim(store.engine, cid, "w1", NOW)
    second = await claims.claim(store.engine, cid, "w2", NOW)
    assert (first.number, first.attempts, first.vars) == ("+15550000001", 1, {"name": "N0"})
    assert second.number == "+15550000002"
    assert await claims.claim(store.engine, cid, "w1", NOW) is None  # nothing left
    rows = await _state(store, cid)
    assert rows["+15550000001"]["state"] == s.DIALING
    assert rows["+15550000001"]["claimed_by"] == "w1"
    assert rows["+15550000001"]["call_sid"] is None
    # another worker cannot write a contact it did not claim
    assert not await claims.placed(store.engine, first.id, "w2", "CA1")
    assert await claims.placed(store.engine, first.id, "w1", "CA1")
    assert (await _state(store, cid))["+15550000001"]["state"] == s.CALLING


async def test_outside_the_window_it_is_not_due(store):
    # 12:00 UTC is 21:00 in Tokyo: due tomorrow at 09:00 there (00:00 UTC)
    cid = await _campaign(
        store, ["+15550000001", "+815012345678"], **{"+815012345678": "Asia/Tokyo"}
    )
    claimed = await claims.claim(store.engine, cid, "w1", NOW)
    assert claimed.number == "+15550000001"
    assert await claims.claim(store.engine, cid, "w1", NOW) is None
    assert await claims.next_due(store.engine, cid) == datetime(2026, 12, 8, tzinfo=UTC)
    later = await claims.claim(store.engine, cid, "w1", datetime(2026, 12, 8, tzinfo=UTC))
    assert later.number == "+815012345678"


async def test_outcomes_retries_refusals_and_counts(store):
    cid = await _campaign(store, ["+15550000001", "+15550000002", "+15550000003"])
    a = await claims.claim(store.engine, cid, "w", NOW)
    b = await claims.claim(store.engine, cid, "w", NOW)
    c = await claims.claim(store.engine, cid, "w", NOW)
    await claims.placed(store.engine, a.id, "w", "CA1")
    await claims.ended(
        store.engine,
        a.id,
        "w",
        state=s.ANSWERED,
        outcome="completed",
        answered_by="human",
        duration_s=31.5,
        next_attempt_at=None,
    )
    await claims.placed(store.engine, b.id, "w", "CA2")
    retry = NOW + timedelta(minutes=1)
    await claims.ended(
        store.engine,
        b.id,
        "w",
        state=s.PENDING,
        outcome="busy",
        answered_by=None,
        duration_s=None,
        next_attempt_at=retry,
    )
    await claims.refused(store.engine, c.id, "w", "do_not_call", "on the do-not-call list")
    rows = await _state(store, cid)
    assert rows["+15550000001"]["state"] == s.ANSWERED
    assert rows["+15550000001"]["duration_s"] == 31.5
    assert rows["+15550000002"]["state"] == s.PENDING
    assert rows["+15550000002"]["next_attempt_at"] == retry
    assert rows["+15550000003"]["state"] == s.REFUSED
    assert rows["+15550000003"]["attempts"] == 0  # never called
    n = await counts(store.engine, cid)
    assert (n["called"], n["answered"], n["busy"], n["refused"], n["pending"]) == (2, 1, 1, 1, 1)
    assert await claims.claim(store.engine, cid, "w", NOW) is None  # the retry is not due
    again = await claims.claim(store.engine, cid, "w", retry)
    assert (again.number, again.attempts) == ("+15550000002", 2)


async def test_a_clean_stop_releases_calls_and_resume_adopts_them(store):
    cid = await _campaign(store, ["+15550000001"])
    a = await claims.claim(store.engine, cid, "host:1:aa", NOW)
    await claims.placed(store.engine, a.id, "host:1:aa", "CA1")
    assert await claims.release(store.engine, "host:1:aa") == 1
    found = await recovery.recover(store.engine, cid, "host:2:bb", NOW, lookup=None)
    assert [c.id for c in found.adopted] == [a.id] and found.unknown == 0
    row = (await _state(store, cid))["+15550000001"]
    assert (row["state"], row["call_sid"], row["claimed_by"]) == (s.CALLING, "CA1", "host:2:bb")


class Lookup:
    def __init__(self, calls=(), fail: bool = False):
        self.calls = list(calls)
        self.fail = fail
        self.asked: list[tuple[str, datetime]] = []

    async def calls_to(self, number: str, since: datetime) -> list[FoundCall]:
        self.asked.append((number, since))
        if self.fail:
            raise LookupFailed("HTTP 503")
        return self.calls

    async def call_now(self, call_sid: str) -> recovery.CallNow:
        raise LookupFailed("not asked by recovery")


async def _orphan(store, numbers):
    """Contacts claimed by a worker on this host whose process is gone (pid 999999)."""
    cid = await _campaign(store, numbers)
    dead = "deadhost:999999:aa"
    for _ in numbers:
        await claims.claim(store.engine, cid, dead, NOW)
    return cid


@pytest.mark.parametrize(
    ("lookup", "state", "sid", "attempts"),
    [
        (None, s.UNKNOWN, None, 1),  # nobody to ask: the owner decides
        (lambda: Lookup(fail=True), s.UNKNOWN, None, 1),
        (  # only an earlier attempt's call: this one was never made
            lambda: Lookup([FoundCall("CAold", "completed", NOW - timedelta(hours=1))]),
            s.PENDING,
            None,
            0,
        ),
        (
            lambda: Lookup([FoundCall("CAnew", "in-progress", NOW + timedelta(seconds=2))]),
            s.CALLING,
            "CAnew",
            1,
        ),
    ],
)
async def test_dialing_without_a_sid_is_never_redialled_on_a_guess(
    store, lookup, state, sid, attempts
):
    lookup = lookup() if lookup else None
    cid = await _orphan(store, ["+15550000001"])
    later = NOW + timedelta(seconds=recovery.STALE_S + 1)  # its heartbeat is stale
    found = await recovery.recover(store.engine, cid, "me:1:bb", later, lookup)
    row = (await _state(store, cid))["+15550000001"]
    assert (row["state"], row["call_sid"], row["attempts"]) == (state, sid, attempts)
    assert len(found.adopted) == (1 if state == s.CALLING else 0)
    if lookup is not None:
        assert lookup.asked == [("+15550000001", NOW - timedelta(seconds=recovery.CLOCK_SLACK_S))]


async def test_a_live_workers_contacts_are_left_alone(store):
    cid = await _campaign(store, ["+15550000001", "+15550000002"])
    import socket

    here = socket.gethostname()
    await claims.claim(store.engine, cid, f"{here}:123:aa", NOW)  # alive, fresh heartbeat
    await claims.claim(store.engine, cid, f"{here}:999999:bb", NOW)  # this host, process gone
    found = await recovery.recover(
        store.engine,
        cid,
        f"{here}:2:cc",
        NOW + timedelta(seconds=5),
        None,
        alive=lambda pid: pid == 123,
    )
    assert found.unknown == 1
    rows = await _state(store, cid)
    assert rows["+15550000001"]["state"] == s.DIALING
    assert rows["+15550000002"]["state"] == s.UNKNOWN


def test_worker_gone_rules():
    now = NOW
    assert recovery.worker_gone(None, None, now, host="h")
    assert recovery.worker_gone("h:5:x", now - timedelta(seconds=200), now, host="h")
    assert not recovery.worker_gone("other:5:x", now, now, host="h", alive=lambda p: False)
    assert recovery.worker_gone("h:5:x", now, now, host="h", alive=lambda p: False)
    assert not recovery.worker_gone("h:5:x", now, now, host="h", alive=lambda p: True)

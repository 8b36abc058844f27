"""The campaign loop on virtual time with fakes of the outbound seam: outcomes, retries with
backoff, windows, DNC at claim time, MAX_CALLS room, a stop and a resume, nobody twice."""

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from agent.campaigns import claims
from agent.campaigns import states as s
from agent.campaigns.contacts_csv import Contact
from agent.campaigns.store import contact_rows, create_campaign, get_campaign
from agent.campaigns.worker import CampaignWorker
from agent.records.store import Store
from tests.campaigns.fakes import (
    FakeCalls,
    FakeDnc,
    FakeLookup,
    FixedCapacity,
    VirtualClock,
    deps,
    reminder_settings,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(database_url):
    store = await Store.open(database_url)
    yield store
    await store.close()


async def _campaign(store, numbers, *, concurrency=2, zones=None, max_attempts=3):
    settings = reminder_settings(
        window="09:00-20:00", concurrency=concurrency, max_attempts=max_attempts
    )
    zones = zones or {}
    contacts = [Contact(i + 2, n, {"name": f"N{i}"}, zones.get(n)) for i, n in enumerate(numbers)]
    cid = await create_campaign(store.engine, settings, contacts, NOW)
    return await get_campaign(store.engine, cid)


async def _rows(store, cid):
    return {r["number"]: r for r in await contact_rows(store.engine, cid)}


N = [f"+1555000{i:04d}" for i in range(8)]


async def test_each_contact_gets_its_outcome_and_is_called_once_per_attempt(store):
    clock = VirtualClock(NOW)
    calls = FakeCalls(
        clock,
        script={N[2]: ["busy", "completed"], N[3]: ["no-answer"]},
        refuse={N[6]: "missing_variable"},
        machine={N[1]},
    )
    tokyo = "Asia/Tokyo"  # 21:00 there: outside 09:00-20:00 until tomorrow
    campaign = await _campaign(store, N, zones={N[5]: tokyo})
    dnc = FakeDnc({N[4]})
    worker = CampaignWorker(campaign, deps(store.engine, calls, dnc=dnc), max_wait_s=3600)
    result = await worker.run()
    assert not result.finished and result.next_due == datetime(2026, 12, 8, tzinfo=UTC)
    rows = await _rows(store, campaign.id)
    states = {n: (r["state"], r["attempts"], r["outcome"]) for n, r in rows.items()}
    assert states == {
        N[0]: (s.ANSWERED, 1, "completed"),
        N[1]: (s.VOICEMAIL, 1, "completed"),
        N[2]: (s.ANSWERED, 2, "completed"),  # busy, then answered on the retry
        N[3]: (s.NO_ANSWER, 3, "no-answer"),  # the attempts' limit
        N[4]: (s.REFUSED, 0, "do_not_call"),
        N[5]: (s.PENDING, 0, None),  # outside its window: never called
        N[6]: (s.REFUSED, 0, "missing_variable"),
        N[7]: (s.ANSWERED, 1, "completed"),
    }
    assert [calls.count(n) for n in N] == [1, 1, 2, 3, 0, 0, 0, 1]
    assert calls.most_live <= 2  # concurrency
    assert rows[N[6]]["detail"] == "refused (missing_variable)"
    # the retries waited for the backoff: 60 s, then 120 s after the second no-answer
    assert clock.now() - NOW >= timedelta(seconds=60 + 120 + 3 * calls.ring_s)
    assert result.counts["called"] == 8 and result.counts["pending"] == 1
    assert calls.placed[0].tag == f"campaign:{campaign.id}:{rows[N[0]]['id']}"
    assert calls.placed[0].vars == {"name": "N0"}


async def test_dnc_is_checked_when_claimed_not_only_at_import(store):
    clock = VirtualClock(NOW)
    calls = FakeCalls(clock, script={N[0]: ["busy", "completed"]})
    dnc = FakeDnc()
    campaign = await _campaign(store, N[:1])

    worker = CampaignWorker(campaign, deps(store.engine, calls, dnc=dnc))
    task = asyncio.create_task(worker.run())
    while calls.count(N[0]) == 0:
        await asyncio.sleep(0)
    dnc.numbers.add(N[0])  # "please don't call again" during the first call
    await task
    row = (await _rows(store, campaign.id))[N[0]]
    assert (row["state"], row["outcome"], calls.count(N[0])) == (s.REFUSED, "do_not_call", 1)


async def test_twilio_error_is_failed_and_never_retried(store):
    clock = VirtualClock(NOW)
    calls = FakeCalls(clock, refuse={N[0]: "twilio_error"})
    campaign = await _campaign(store, N[:1])
    await CampaignWorker(campaign, deps(store.engine, calls)).run()
    row = (await _rows(store, campaign.id))[N[0]]
    assert (row["state"], row["outcome"], row["attempts"]) == (s.FAILED, "twilio_error", 1)


async def test_max_calls_room_is_waited_for(store):
    clock = VirtualClock(NOW)
    calls = FakeCalls(clock)
    campaign = await _campaign(store, N[:2])
    room = FixedCapacity(0)
    worker = CampaignWorker(campaign, deps(store.engine, calls, capacity=room))
    task = asyncio.create_task(worker.run())
    await clock.sleep(30)
    for _ in range(20):
        await asyncio.sleep(0)
    assert calls.placed == []  # no room: nothing dialed
    room.free_now = 1
    result = await task
    assert result.finished and len(calls.placed) == 2


async def test_a_window_closing_after_the_claim_defers_the_call(store):
    clock = VirtualClock(datetime(2026, 12, 7, 19, 59, 59, tzinfo=UTC))
    calls = FakeCalls(clock, place_delay_s=0)
    campaign = await _campaign(store, N[:1])
    # due at 19:59:59, claimed at 20:00:01 (the claim took two seconds)
    claimed = await claims.claim(store.engine, campaign.id, "w", clock.now())
    clock.at += timedelta(seconds=2)
    worker = CampaignWorker(campaign, deps(store.engine, calls), worker="w", max_wait_s=60)
    await worker._place(claimed)
    row = (await _rows(store, campaign.id))[N[0]]
    assert (row["state"], row["attempts"]) == (s.PENDING, 0)
    assert row["next_attempt_at"] == datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    assert calls.placed == []


class _GatedCalls(FakeCalls):
    """Holds each REST request until the test opens the gate."""

    def __init__(self, clock):
        super().__init__(clock)
        self.gate = asyncio.Event()
        self.started = 0

    async def place(self, request):
        self.started += 1
        await self.gate.wait()
        return await super().place(request)


async def test_a_stop_before_the_handler_runs_hands_the_claim_back_uncounted(store):
    clock = VirtualClock(NOW)
    calls = FakeCalls(clock)
    campaign = await _campaign(store, N[:1])
    worker = CampaignWorker(campaign, deps(store.engine, calls), worker="w")
    claimed = await claims.claim(store.engine, campaign.id, "w", clock.now())
    worker._start(claimed, watch_only=False)  # stop() comes before its handler's first step
    assert await worker._wind_down() == 0
    row = (await _rows(store, campaign.id))[N[0]]
    assert (row["state"], row["attempts"], row["claimed_by"]) == (s.PENDING, 0, None)
    await asyncio.sleep(0.01)
    assert calls.placed == []


async def test_a_stop_during_the_rest_request_waits_for_its_sid_then_releases(store):
    clock = VirtualClock(NOW)
    calls = _GatedCalls(clock)
    campaign = await _campaign(store, N[:1])
    worker = CampaignWorker(campaign, deps(store.engine, calls), worker="w")
    claimed = await claims.claim(store.engine, campaign.id, "w", clock.now())
    worker._start(claimed, watch_only=False)
    while calls.started == 0:
        await asyncio.sleep(0)
    winding = asyncio.create_task(worker._wind_down())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not winding.done()  # the request in flight is not abandoned
    calls.gate.set()
    assert await winding == 1
    row = (await _rows(store, campaign.id))[N[0]]
    assert (row["state"], row["claimed_by"]) == (s.CALLING, None)
    assert row["call_sid"] and len(calls.placed) == 1


async def test_stop_lets_the_dial_finish_and_resume_calls_nobody_twice(store):
    clock = VirtualClock(NOW)
    calls = FakeCalls(clock, ring_s=50, place_delay_s=2)
    campaign = await _campaign(store, N[:6], concurrency=3)
    first = CampaignWorker(campaign, deps(store.engine, calls), worker="host:1:first")
    task = asyncio.create_task(first.run())
    while len(calls.placed) < 2:
        await asyncio.sleep(0)
    first.stop()  # REST requests in flight finish, their sids saved
    result = await task
    rows = await _rows(store, campaign.id)
    calling = [r for r in rows.values() if r["state"] == s.CALLING]
    assert result.stopped and not result.finished and result.released == len(calling) >= 1
    assert all(r["call_sid"] and r["claimed_by"] is None for r in calling)
    assert not [r for r in rows.values() if r["state"] == s.DIALING]
    assert len(calls.placed) == result.counts["called"] < 6
    second = CampaignWorker(campaign, deps(store.engine, calls), worker="host:2:second")
    result = await second.run()
    assert result.finished
    assert [calls.count(n) for n in N[:6]] == [1] * 6
    assert {r["state"] for r in (await _rows(store, campaign.id)).values()} == {s.ANSWERED}


async def test_a_lost_final_callback_is_asked_of_twilio_and_recorded(store):
    """The server was down when Twilio posted the call's final status: 10 minutes after
    placing, the worker asks Twilio, records what it says as the callback would have, and
    the contact gets its outcome (not `unknown` two hours later)."""
    clock = VirtualClock(NOW)
    calls = FakeCalls(clock, lost={N[0]}, machine={N[0]}, ring_s=60)
    lookup = FakeLookup(calls)
    campaign = await _campaign(store, N[:2], concurrency=1)
    worker = CampaignWorker(campaign, deps(store.engine, calls, lookup=lookup), max_wait_s=60)
    await worker.run()
    rows = await _rows(store, campaign.id)
    assert (rows[N[0]]["state"], rows[N[0]]["outcome"]) == (s.VOICEMAIL, "completed")
    assert rows[N[1]]["state"] == s.ANSWERED  # its callback came: Twilio never asked
    [(sid, asked_at)] = lookup.asked
    assert timedelta(minutes=10) <= asked_at - NOW < timedelta(minutes=12)
    assert calls.recorded == [(sid, "amd:machine", None), (sid, "completed", 12.0)]


async def test_a_call_still_in_progress_is_asked_again_later(store):
    clock = VirtualClock(NOW)
    calls = FakeCalls(clock, lost={N[0]}, ring_s=15 * 60)  # a long call
    lookup = FakeLookup(calls)
    campaign = await _campaign(store, N[:1], concurrency=1)
    worker = CampaignWorker(campaign, deps(store.engine, calls, lookup=lookup), max_wait_s=60)
    await worker.run()
    rows = await _rows(store, campaign.id)
    assert rows[N[0]]["state"] == s.ANSWERED
    # every task's sleep moves the virtual clock: the asks come at 10 minutes or a little
    # later, each at least 10 minutes after the one before
    first, second = (at for _, at in lookup.asked)
    assert timedelta(minutes=10) <= first - NOW < timedelta(minutes=12)
    assert timedelta(minutes=10) <= second - first < timedelta(minutes=12)
    assert [r[1] for r in calls.recorded] == ["amd:human", "completed"]


async def test_twilio_out_of_reach_leaves_the_call_unknown_at_the_timeout(store):
    clock = VirtualClock(NOW)
    calls = FakeCalls(clock, lost={N[0]})
    lookup = FakeLookup(calls, fail=True)
    campaign = await _campaign(store, N[:1], concurrency=1)
    worker = CampaignWorker(
        campaign,
        deps(store.engine, calls, lookup=lookup),
        max_wait_s=60,
        outcome_timeout_s=3600,
    )
    await worker.run()
    row = (await _rows(store, campaign.id))[N[0]]
    assert row["state"] == s.UNKNOWN and "no final status" in row["detail"]
    # asked again and again (10 minutes apart, from 10 minutes on), never a verdict on a failure
    times = [NOW] + [at for _, at in lookup.asked]
    assert len(times) >= 4 and all(
        b - a >= timedelta(minutes=10) for a, b in itertools.pairwise(times)
    )
    assert calls.recorded == []

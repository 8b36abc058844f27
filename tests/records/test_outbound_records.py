"""The do-not-call list and outbound calls' records (status history, AMD, outcome), on
SQLite and on Postgres: what a campaign worker in another process reads."""

from __future__ import annotations

import pytest

from agent.outbound.placing import CallOutcome, DialRefused
from agent.records.dnc import DncList
from agent.records.outbound_store import OutboundRecords
from agent.records.store import Store


@pytest.fixture
async def store(database_url):
    store = await Store.open(database_url)
    yield store
    await store.close()


async def test_dnc_normalises_numbers_and_lists_each_once(store):
    dnc = DncList(store.engine)
    assert not await dnc.contains("+15551234567")
    await dnc.add("+1 (555) 123-4567", "cli")
    await dnc.add("+15551234567", "route:stop")  # again: no change, first source kept
    assert await dnc.contains("+1-555-123-4567")
    [entry] = await dnc.list()
    assert (entry.number, entry.source) == ("+15551234567", "cli")
    assert entry.added_at.tzinfo is not None
    assert await dnc.remove("+15551234567") and not await dnc.remove("+15551234567")
    assert await dnc.list() == []
    with pytest.raises(DialRefused) as refused:
        await dnc.add("555-1234", "cli")
    assert refused.value.reason == "invalid_number" and "555-1234" not in str(refused.value)


async def test_outcome_is_none_until_the_final_status_then_says_who_answered(store):
    records = OutboundRecords(store.engine)
    await records.placed(
        call_sid="CA1",
        to_number="+15551234567",
        from_number="+15550000001",
        graph="reminder",
        account_sid=None,
        tag="contact-7",
    )
    assert await records.outcome("CA1") is None
    await records.status("CA1", "ringing")
    await records.status("CA1", "in-progress")
    await records.amd("CA1", "machine_end_beep")
    assert await records.outcome("CA1") is None
    await records.status("CA1", "completed", duration_s=23)
    assert await records.outcome("CA1") == CallOutcome("completed", "machine", 23.0)
    assert await records.outcome("CAnone") is None
    call = await store.get_call("CA1")
    assert (call["direction"], call["call_status"], call["tag"]) == (
        "outbound",
        "completed",
        "contact-7",
    )
    assert (call["answered_by"], call["answered_reason"]) == ("machine", "amd:machine_end_beep")
    assert [(e["kind"], e["status"]) for e in call["status_history"]] == [
        ("status", "queued"),
        ("status", "ringing"),
        ("status", "in-progress"),
        ("amd", "machine_end_beep"),
        ("status", "completed"),
    ]
    assert call["outcome"] == "completed"  # no stream recorded an outcome of its own


async def test_a_busy_call_ends_its_record_and_the_call_decision_wins_over_amd(store):
    records = OutboundRecords(store.engine)
    for sid in ("CAbusy", "CAhuman"):
        await records.placed(
            call_sid=sid,
            to_number="+15551234567",
            from_number="+15550000001",
            graph="reminder",
            account_sid=None,
            tag=None,
        )
    await records.status("CAbusy", "busy", duration_s=0)
    assert await records.outcome("CAbusy") == CallOutcome("busy", None, 0.0)
    busy = await store.get_call("CAbusy")
    assert (busy["outcome"], busy["end_reason"]) == ("busy", "the line was busy")

    await records.answered("CAhuman", "human", "words: first words")
    await records.amd("CAhuman", "machine_end_other")  # late: the call already decided
    human = await store.get_call("CAhuman")
    assert (human["answered_by"], human["answered_reason"]) == ("human", "words: first words")
    listed, _ = await store.list_calls()
    assert {c["call_sid"]: c["direction"] for c in listed} == {
        "CAbusy": "outbound",
        "CAhuman": "outbound",
    }


async def test_callbacks_written_before_the_placement_still_count(store):
    """Twilio's callbacks start as the call is created: they can beat the placer's write."""
    from datetime import UTC, datetime, timedelta

    records = OutboundRecords(store.engine)
    asked = datetime.now(UTC) - timedelta(seconds=1)
    await records.status("CAfast", "initiated")
    await records.amd("CAfast", "human")
    await records.status("CAfast", "busy", duration_s=0)
    await records.placed(
        call_sid="CAfast",
        to_number="+15551234567",
        from_number="+15550000001",
        graph="reminder",
        account_sid=None,
        tag=None,
        at=asked,
    )
    assert await records.outcome("CAfast") == CallOutcome("busy", "human", 0.0)
    call = await store.get_call("CAfast")
    assert [e["status"] for e in call["status_history"]] == ["queued", "initiated", "human", "busy"]
    assert call["outcome"] == "busy"


async def test_the_stream_of_an_outbound_call_fills_in_its_stream_sid(store):
    """The record is written when the call is placed; the stream's start, later, must still
    give it the stream's sid (the trace and the dashboard's call page look calls up by it),
    without touching what the placement wrote."""
    from datetime import UTC, datetime

    from agent.records.store import CallStarted

    records = OutboundRecords(store.engine)
    await records.placed(
        call_sid="CAout",
        to_number="+15551234567",
        from_number="+15550000001",
        graph="reminder",
        account_sid=None,
        tag="contact-1",
    )
    at = datetime.now(UTC)
    await store.apply([CallStarted("CAout", "MZout", "AC1", "+1555", "+1666", "other", at)])
    await store.apply([CallStarted("CAout", "MZlater", "AC2", "+1", "+2", "x", at)])
    call = await store.get_call("CAout")
    assert (call["stream_sid"], call["account_sid"]) == ("MZout", "AC1")
    assert (call["direction"], call["graph"], call["tag"]) == ("outbound", "reminder", "contact-1")
    assert (call["from"], call["to"]) == ("+15550000001", "+15551234567")


async def test_amd_result_is_the_latest_recorded_for_the_call(store):
    records = OutboundRecords(store.engine)
    assert await records.amd_result("CAamd") is None
    await records.amd("CAamd", "machine_start")
    await records.amd("CAother", "human")
    assert await records.amd_result("CAamd") == "machine_start"
    await records.amd("CAamd", "machine_end_beep")
    assert await records.amd_result("CAamd") == "machine_end_beep"

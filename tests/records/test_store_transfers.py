"""A call's transfers in the record store: started (dialing), then Twilio's dial status; an
answered one also ends the call with outcome "transferred"."""

from __future__ import annotations

from datetime import timedelta

from agent.records import models as m
from agent.records.store import CallEnded, Store, TransferStarted, TransferStatus
from tests.records.test_store import T0, started, turn


async def test_transfer_rows_follow_the_dial_and_an_answer_ends_the_call(database_url):
    store = await Store.open(database_url)
    try:
        await store.apply(
            [
                started("CA1"),
                turn("CA1", 0),
                TransferStarted("CA1", "front_desk", "+15550003333", "dtmf", "pressed 0", T0),
                CallEnded("CA1", T0 + timedelta(seconds=5), "transferred", 5.0),
            ]
        )
        call = await store.get_call("CA1")
        [transfer] = call["transfers"]
        assert (transfer["destination"], transfer["to"], transfer["via"]) == (
            "front_desk",
            "+15550003333",
            "dtmf",
        )
        assert transfer["status"] == "dialing" and transfer["ended_at"] is None
        end = T0 + timedelta(seconds=65)
        await store.apply([TransferStatus("CA1", "completed", end, 42.0, "transferred")])
        call = await store.get_call("CA1")
        [transfer] = call["transfers"]
        assert (transfer["status"], transfer["dial_duration_s"]) == ("completed", 42.0)
        assert call["outcome"] == "transferred" and call["duration_s"] == 65.0
        assert call["ended_at"] == "2026-03-01T12:01:05Z"
        # A second transfer: the status goes to the latest one only.
        await store.apply(
            [
                TransferStarted("CA1", "sales", "+15550004444", "llm", "", end),
                TransferStatus("CA1", "busy", end + timedelta(seconds=3)),
            ]
        )
        statuses = [t["status"] for t in (await store.get_call("CA1"))["transfers"]]
        assert statuses == ["completed", "busy"]
    finally:
        await store.close()


async def test_a_record_is_read_in_one_snapshot_not_torn_by_a_write_between_its_queries(
    database_url,
):
    """The call row and its transfers come from separate queries: a dial result committed
    between them must not show a finished transfer next to the call's earlier end."""
    store = await Store.open(database_url)
    try:
        await store.apply(
            [
                started("CA1"),
                TransferStarted("CA1", "front_desk", "+15550003333", "route", "", T0),
                CallEnded("CA1", T0 + timedelta(seconds=5), "transferred", 5.0),
            ]
        )
        async with store.snapshot() as conn:
            [before] = (await conn.execute(m.calls.select())).mappings().all()
            end = T0 + timedelta(seconds=65)
            await store.apply([TransferStatus("CA1", "completed", end, 60.0, "transferred")])
            [transfer] = (await conn.execute(m.transfers.select())).mappings().all()
            [call_again] = (await conn.execute(m.calls.select())).mappings().all()
        assert transfer["status"] == "dialing"  # the snapshot of the first read
        assert call_again["duration_s"] == before["duration_s"] == 5.0
        call = await store.get_call("CA1")  # a new read sees the write, whole
        assert call["transfers"][0]["status"] == "completed" and call["duration_s"] == 65.0
    finally:
        await store.close()

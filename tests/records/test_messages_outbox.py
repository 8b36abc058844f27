"""Messages for the owner in the record store (SQLite, and Postgres with TEST_POSTGRES_URL) and
the outbox that texts them: stored at once, SMS retried on an injected sleep with every
attempt recorded, pending SMS sent again at the next start, failures kept with their text.
The SMS goes through the real TwilioRestClient to the Twilio fake's Messages resource."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from agent.records import models
from agent.records.message_store import NewMessage, SmsUpdate, pending_sms, update_sms
from agent.records.outbox import CallMessages, MessageOutbox, sms_body
from agent.records.store import CallStarted, Store
from agent.twilio.rest import TwilioRestClient
from processors.message_taking import TakenMessage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OWNER, CALLED, CALLER = "+15555550123", "+15555550199", "+15555550100"


class RecordedSleep:
    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def message(sid: str = "CA1", sms: bool = True, **changes) -> NewMessage:
    fields = dict(
        call_sid=sid,
        graph="receptionist",
        call_started_at=T0,
        from_number=CALLER,
        to_number=CALLED,
        taken_at=T0,
        reason="caller_asked",
        name="Ann Smith",
        callback_number=CALLER,
        about="my order",
        confirmed=True,
        sms_to=OWNER if sms else None,
        sms_body="Message from Ann Smith" if sms else None,
    )
    return NewMessage(**{**fields, **changes})


@pytest.fixture
async def store(database_url):
    opened = await Store.open(database_url)
    yield opened
    await opened.close()


@pytest.fixture
async def rest(fakes):
    client = TwilioRestClient("AC1", "tok-123456", fakes.env()["TWILIO_API_BASE_URL"])
    yield client
    await client.close()


async def test_migration_adds_the_messages_table_to_an_older_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/old.db"
    monkeypatch.setattr(models, "MIGRATIONS", models.MIGRATIONS[:-1])  # before messages
    old = await Store.open(url)
    assert await old.migrate() == models.SCHEMA_VERSION - 1
    await old.close()
    monkeypatch.undo()
    store = await Store.open(url)
    try:
        assert await store.migrate() == models.SCHEMA_VERSION
        async with store.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "messages" in tables
    finally:
        await store.close()


async def test_sent_sms_and_the_message_are_in_the_call_record(store, rest, fakes):
    await store.apply([CallStarted("CA1", "MZ1", "AC1", CALLER, CALLED, "receptionist", T0)])
    sleep = RecordedSleep()
    outbox = MessageOutbox(store.engine, rest, sleep=sleep)
    message_id = await outbox.store_and_send(message())
    [sent] = fakes.twilio.messages.sent
    assert (sent.to, sent.from_, sent.body) == (OWNER, CALLED, "Message from Ann Smith")
    call = await store.get_call("CA1")
    [stored] = call["messages"]
    assert stored["id"] == message_id and stored["name"] == "Ann Smith"
    assert stored["callback_number"] == CALLER and stored["confirmed"] is True
    assert stored["sms"]["status"] == "sent" and stored["sms"]["sid"] == sent.sid
    assert stored["sms"]["attempts"] == 1 and stored["sms"]["from"] == CALLED
    assert sleep.waits == []


async def test_a_message_before_the_calls_row_creates_it(store):
    outbox = MessageOutbox(store.engine, None)
    await outbox.store_and_send(message("CA9", sms=False))
    call = await store.get_call("CA9")
    assert call["from"] == CALLER and call["messages"][0]["sms"]["status"] == "none"


async def test_failed_twice_then_sent_is_retried_on_the_backoff_and_recorded(store, rest, fakes):
    fakes.twilio.messages.fail_next = [503, 429]
    sleep = RecordedSleep()
    outbox = MessageOutbox(store.engine, rest, backoff_s=(1.0, 5.0, 20.0), sleep=sleep)
    await outbox.store_and_send(message())
    assert sleep.waits == [1.0, 5.0]
    assert [r.status for r in fakes.twilio.messages.requests] == [503, 429, 201]
    [stored] = (await store.get_call("CA1"))["messages"]
    assert stored["sms"]["status"] == "sent" and stored["sms"]["attempts"] == 3
    assert stored["sms"]["sid"] == fakes.twilio.messages.sent[0].sid


async def test_a_refusal_is_failed_at_once_with_the_text_kept(store, rest, fakes):
    sleep = RecordedSleep()
    outbox = MessageOutbox(store.engine, rest, sleep=sleep)
    await outbox.store_and_send(message(sms_to="+1555"))  # not a phone number: 21211
    [stored] = (await store.get_call("CA1"))["messages"]
    assert stored["sms"]["status"] == "failed" and stored["sms"]["attempts"] == 1
    assert "21211" in stored["sms"]["error"] and stored["sms"]["body"] == "Message from Ann Smith"
    assert sleep.waits == []


async def test_out_of_retries_is_failed_and_kept(store, rest, fakes):
    fakes.twilio.messages.fail_next = [500] * 5
    outbox = MessageOutbox(store.engine, rest, backoff_s=(1.0, 2.0), sleep=RecordedSleep())
    await outbox.store_and_send(message())
    [stored] = (await store.get_call("CA1"))["messages"]
    assert stored["sms"]["status"] == "failed" and stored["sms"]["attempts"] == 3
    assert "HTTP 500" in stored["sms"]["error"] and not fakes.twilio.messages.sent


async def test_pending_sms_are_sent_again_at_start_once(store, rest, fakes):
    outbox = MessageOutbox(store.engine, None)
    # A previous run stored the message and failed once before it stopped.
    from agent.records.message_store import save_message

    message_id = await save_message(store.engine, message())
    await update_sms(store.engine, message_id, SmsUpdate("pending", 1, error="HTTP 503"))
    assert [m["id"] for m in await pending_sms(store.engine)] == [message_id]
    outbox = MessageOutbox(store.engine, rest, sleep=RecordedSleep())
    other = MessageOutbox(store.engine, rest, sleep=RecordedSleep())
    assert await outbox.start() == 1
    assert await other.start() == 0  # claimed by the first: sent once
    await outbox.close()
    [stored] = (await store.get_call("CA1"))["messages"]
    assert stored["sms"]["status"] == "sent" and stored["sms"]["attempts"] == 2
    assert len(fakes.twilio.messages.sent) == 1 and not await pending_sms(store.engine)


async def test_call_messages_builds_the_owner_sms(store, rest, fakes):
    outbox = MessageOutbox(store.engine, rest, sleep=RecordedSleep())
    sink = CallMessages(
        outbox,
        call_sid="CA" + "7" * 32,
        graph="receptionist",
        from_number=CALLER,
        to_number=CALLED,
        sms_to=OWNER,
    )
    taken = TakenMessage("Bob", "5551234567", "the invoice", CALLER, "after_hours", False, T0)
    sink.message_taken(taken)
    await outbox.close()
    [sent] = fakes.twilio.messages.sent
    assert sent.body == sms_body(taken, "CA" + "7" * 32)
    assert "Bob" in sent.body and "5551234567 (number not confirmed)" in sent.body
    assert "the invoice" in sent.body and sent.from_ == CALLED and sent.to == OWNER


async def test_agent_calls_prints_the_message_and_its_sms(database_url, capsys):
    import argparse

    from agent.cli.calls import _run, add_arguments

    store = await Store.open(database_url)
    try:
        outbox = MessageOutbox(store.engine, None)
        await outbox.store_and_send(message(confirmed=False))  # no sender: failed, text kept
    finally:
        await store.close()
    parser = argparse.ArgumentParser()
    add_arguments(parser.add_subparsers().add_parser("calls"))
    assert await _run(parser.parse_args(["calls", "CA1"]), database_url, 1.0) == 0
    out = capsys.readouterr().out
    assert "message 1 (caller_asked" in out and "name: Ann Smith" in out
    assert f"call back on: {CALLER} (NOT confirmed)" in out and "about: my order" in out
    assert f"sms to {OWNER}: failed after 0 attempt(s); last error: no SMS sender" in out


async def test_a_server_start_sends_the_sms_a_previous_run_left_pending(
    fakes, start_server, tmp_path
):
    import asyncio

    from agent.records.message_store import save_message

    url = f"sqlite:///{tmp_path}/calls.db"
    store = await Store.open(url)
    try:
        message_id = await save_message(store.engine, message())  # never sent: pending
    finally:
        await store.close()
    server = await start_server(DATABASE_URL=url)
    for _ in range(50):
        if fakes.twilio.messages.sent:
            break
        await asyncio.sleep(0.05)
    [sent] = fakes.twilio.messages.sent
    assert (sent.to, sent.from_, sent.body) == (OWNER, CALLED, "Message from Ann Smith")
    call = await server.services.records.store.get_call("CA1")
    for _ in range(50):
        if call["messages"][0]["sms"]["status"] == "sent":
            break
        await asyncio.sleep(0.05)
        call = await server.services.records.store.get_call("CA1")
    assert call["messages"][0]["id"] == message_id
    assert call["messages"][0]["sms"]["status"] == "sent"

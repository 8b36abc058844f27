"""agent/records/expiry.py: RECORDS_RETENTION_DAYS deletes old calls with all their rows and
their recording, in SQLite and Postgres, keeps a call whose SMS is still pending, and runs
on an injected clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from agent.config import Config
from agent.errors import ConfigError
from agent.records import models as m
from agent.records.expiry import ExpiryTask
from agent.records.message_store import NewMessage, save_message
from agent.records.recordings import RecordingStarted
from agent.records.runtime import RecordsRuntime
from agent.records.store import CallEnded, ExtractionRecord, Store, TransferStarted
from processors.clock import FakeClock
from tests.records.test_store import T0, started, turn

DAY = timedelta(days=1)


async def _until(condition) -> None:
    """The deletion is real database I/O: wait for it (bounded), not for the fake clock."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the expiry task did not run")


async def _count(store: Store, table) -> int:
    async with store.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


def _message(sid: str, sms: bool) -> NewMessage:
    return NewMessage(
        sid, "receptionist", T0, "+15550001", "+15550002", T0, "caller_asked", "Ann",
        "+15550001", "a quote", True, "+15559999" if sms else None, "body" if sms else None,
    )  # fmt: skip


async def test_old_calls_go_with_everything_that_belongs_to_them(database_url, tmp_path):
    store = await Store.open(database_url)
    wav = tmp_path / "CAold.wav"
    wav.write_bytes(b"RIFF")
    try:
        await store.apply(
            [
                started("CAold", at=T0),
                turn("CAold", 0),
                ExtractionRecord("CAold", 1, 0, T0, "lead", {"name": "Ann"}, None, 1),
                TransferStarted("CAold", "sales", "+15550004444", "llm", "", T0),
                RecordingStarted("CAold", str(wav)),
                CallEnded("CAold", T0 + timedelta(minutes=1), "transferred", 60.0),
                started("CApending", at=T0),  # its SMS is still on the way: kept
                started("CAnew", at=T0 + 29 * DAY),
                turn("CAnew", 0),
            ]
        )
        await save_message(store.engine, _message("CAold", sms=False))
        await save_message(store.engine, _message("CApending", sms=True))

        clock = FakeClock()
        now = (T0 + 31 * DAY).timestamp()
        deleted: list[int] = []
        task = ExpiryTask(
            store.engine,
            30,
            clock=clock,
            wall=lambda: now,
            in_thread=asyncio.to_thread,
            on_deleted=deleted.append,
        )
        runner = asyncio.ensure_future(task.run())
        await _until(lambda: task.runs == 1)
        assert deleted == [1]
        assert await store.get_call("CAold") is None
        assert not wav.exists()
        assert await store.get_call("CApending") is not None
        assert (await store.get_call("CAnew"))["turns"][0]["text"] == "hi"
        for table, left in ((m.turns, 1), (m.extractions, 0), (m.transfers, 0), (m.messages, 1)):
            assert await _count(store, table) == left, table.name

        now = (T0 + 60 * DAY).timestamp()  # an hour later on the task's clock, much later here
        await clock.advance(3599)
        assert task.runs == 1  # not before the hour
        await clock.advance(1)
        await _until(lambda: task.runs == 2)
        assert deleted == [1, 1]  # CAnew aged out; CApending still pending
        assert await store.get_call("CAnew") is None
        assert await store.get_call("CApending") is not None
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    finally:
        await store.close()


async def test_the_settings_switch_redaction_and_retention_on(tmp_path):
    config = Config.load(
        env={
            "DATABASE_URL": f"sqlite:///{tmp_path}/calls.db",
            "RECORDS_REDACT": "true",
            "RECORDS_RETENTION_DAYS": "7",
        },
        dotenv_path=None,
    )
    runtime = await RecordsRuntime.start(config, {})
    try:
        runtime.writer.enqueue(started("CA1", at=datetime.now(UTC)))
        runtime.writer.enqueue(turn("CA1", 0, text="my email is ann@example.com"))
        assert await runtime.writer.flush(10)
        assert (await runtime.store.get_call("CA1"))["turns"][0]["text"] == "my email is [email]"
        await _until(lambda: runtime.expiry is not None and runtime.expiry.runs == 1)
    finally:
        await runtime.close()
    off = Config.load(env={"DATABASE_URL": f"sqlite:///{tmp_path}/calls.db"}, dotenv_path=None)
    assert (off.records_redact, off.records_retention_days) == (False, 0)
    bad = "RECORDS_RETENTION_DAYS"
    with pytest.raises(ConfigError, match=bad):
        Config.load(env={bad: "-1"}, dotenv_path=None)

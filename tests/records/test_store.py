"""The record store and writer without a call: opening, migrations, ordering, failures, paging."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from agent.app.metrics import Metrics
from agent.records import models
from agent.records.store import CallEnded, CallStarted, ExtractionRecord, Store, TurnRecord
from agent.records.writer import RecordWriter

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def started(sid: str, graph: str = "receptionist", at: datetime = T0) -> CallStarted:
    return CallStarted(sid, "MZ" + sid, "AC1", "+15550001", "+15550002", graph, at)


def turn(sid: str, seq: int, role: str = "caller", text: str = "hi") -> TurnRecord:
    at = T0 + timedelta(seconds=seq)
    return TurnRecord(sid, seq, role, text, None, False, "caller", None, at, at, None)


async def test_migrations_run_once_and_are_recorded(database_url):
    store = await Store.open(database_url)
    try:
        assert await store.migrate() == models.SCHEMA_VERSION  # again: nothing to do
        async with store.engine.connect() as conn:
            versions = (await conn.execute(select(models.schema_version))).all()
        assert [row.version for row in versions] == [models.SCHEMA_VERSION]
    finally:
        await store.close()
    again = await Store.open(database_url)  # a second process starting
    await again.close()


async def test_writer_keeps_order_isolates_a_bad_event_and_pages(database_url):
    store = await Store.open(database_url)
    metrics = Metrics()
    writer = RecordWriter(store, metrics)
    writer.start()
    try:
        for i in range(30):
            sid = f"CA{i:03d}"
            writer.enqueue(
                started(sid, "sales" if i % 3 == 0 else "receptionist", T0 + timedelta(minutes=i))
            )
            writer.enqueue(turn(sid, 0))
            writer.enqueue(turn(sid, 1, "agent", "hello"))
            writer.enqueue(
                CallEnded(sid, T0 + timedelta(minutes=i, seconds=9), "caller_hung_up", 9.0)
            )
        writer.enqueue(turn("CAnobody", 0))  # no such call: refused by the foreign key
        writer.enqueue(ExtractionRecord("CA001", 1, 1, T0, "lead", {"intent": "pricing"}, None, 1))
        assert await writer.flush(20)
        await asyncio.sleep(0)
    finally:
        await writer.close()
    assert writer.written == 30 * 4 + 1
    assert metrics.value("switchboard_record_errors_total", reason="write_failed") == 1
    try:
        page, total = await store.list_calls(limit=10, offset=0)
        assert total == 30 and [c["call_sid"] for c in page][:2] == ["CA029", "CA028"]
        page, total = await store.list_calls(limit=10, offset=25)
        assert len(page) == 5
        _, total = await store.list_calls(graph="sales")
        assert total == 10
        _, total = await store.list_calls(since=T0 + timedelta(minutes=20))
        assert total == 10
        call = await store.get_call("CA001")
        assert call["turn_count"] == 2 and [t["seq"] for t in call["turns"]] == [0, 1]
        assert call["extraction"] == {"intent": "pricing"}
        assert call["ended_at"] == "2026-03-01T12:01:09Z"
        assert await store.get_call("CAnobody") is None
    finally:
        await store.close()


async def test_full_queue_drops_and_counts_without_waiting(tmp_path):
    store = await Store.open(f"sqlite:///{tmp_path}/calls.db")
    metrics = Metrics()
    writer = RecordWriter(store, metrics, queue_size=2)  # not started: nothing drains it
    try:
        assert writer.enqueue(started("CA1")) and writer.enqueue(turn("CA1", 0))
        assert not writer.enqueue(turn("CA1", 1))
        assert metrics.value("switchboard_record_errors_total", reason="queue_full") == 1
    finally:
        await store.close()


async def test_two_processes_migrating_one_new_sqlite_file_at_once_both_succeed(tmp_path):
    # WEB_CONCURRENCY workers start together on a fresh calls.db: SQLite runs the DDL outside
    # the transaction, so one of them meets "table already exists" and must simply retry.
    import asyncio
    import sys
    import time

    url = f"sqlite:///{tmp_path / 'race.db'}"
    go = time.time() + 3.0  # all four start migrating at the same instant, imports done
    code = (
        "import asyncio, time\n"
        "from agent.records.store import Store\n"
        "async def main():\n"
        f"    time.sleep(max(0.0, {go!r} - time.time()))\n"
        f"    store = await Store.open({url!r})\n"
        "    print(await store.migrate())\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
    )
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(4)
    ]
    outs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err.decode()[-500:] for _, err in outs]
    from agent.records import models

    assert {out.decode().strip() for out, _ in outs} == {str(models.SCHEMA_VERSION)}


class FakeClock:
    """time.monotonic and asyncio.sleep on a clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_open_retries_a_closed_postgres_port_bounded_then_names_host_and_port():
    from loguru import logger

    from agent.records.connect import DatabaseUnreachable

    with socket.socket() as closed:  # bound, then closed: nobody listens on this port
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    password = "pg-secret-8c2e"
    url = f"postgresql://switchboard:{password}@127.0.0.1:{port}/switchboard"
    clock, logged = FakeClock(), []
    sink = logger.add(logged.append, level="INFO", format="{message}")
    try:
        with pytest.raises(DatabaseUnreachable) as info:
            await Store.open(url, connect_timeout_s=15, clock=clock, sleep=clock.sleep)
    finally:
        logger.remove(sink)
    message = str(info.value)
    assert f"call-record database at 127.0.0.1:{port} (DATABASE_URL)" in message
    assert "7 attempts in 15.0 s" in message and "ConnectionRefusedError" in message
    assert clock.slept == [0.5, 1.0, 2.0, 4.0, 4.0, 3.5]  # doubling, capped, ends at 15 s
    attempts = [line for line in logged if "not reachable (attempt" in line]
    assert len(attempts) == 6 and f"127.0.0.1:{port}" in attempts[0]
    assert password not in message and not any(password in line for line in logged)


async def test_open_does_not_wait_for_a_sqlite_file(tmp_path):
    clock = FakeClock()
    store = await Store.open(f"sqlite:///{tmp_path}/c.db", clock=clock, sleep=clock.sleep)
    await store.close()
    assert clock.slept == []

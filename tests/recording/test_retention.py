"""RECORDING_RETENTION_DAYS (agent/recording/retention.py) and the recording route: old
recordings deleted at start and hourly, the record noting it; the route behind ADMIN_TOKEN."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime

import aiohttp

from agent.recording.retention import DAY_S, PERIOD_S, RetentionTask, sweep
from agent.recording.wav import header
from agent.records.recordings import RecordingEnded, RecordingStarted
from agent.records.store import CallStarted, Store
from processors.clock import FakeClock
from tests.recording.test_wav import frames

NOW = 1_800_000_000.0


def aged(path, days: float, now: float = NOW):
    path.write_bytes(b"RIFF")
    os.utime(path, (now - days * DAY_S, now - days * DAY_S))
    return path


def test_sweep_deletes_only_old_wavs_in_the_folder(tmp_path):
    old = aged(tmp_path / "CAold.wav", 31)
    fresh = aged(tmp_path / "CAfresh.wav", 29)
    other = aged(tmp_path / "notes.txt", 400)
    (tmp_path / "sub").mkdir()
    nested = aged(tmp_path / "sub" / "CAnested.wav", 400)
    assert sweep(tmp_path, 30, NOW) == [old]
    assert not old.exists() and fresh.exists() and other.exists() and nested.exists()
    assert sweep(tmp_path / "missing", 30, NOW) == []


async def test_the_task_sweeps_at_start_and_every_hour_and_notes_each_deletion(tmp_path):
    clock = FakeClock()
    wall = [NOW]
    noted, counted = [], []

    class Writer:
        def enqueue(self, event):
            noted.append(event)

    async def in_thread(fn, *args):
        return fn(*args)

    task = RetentionTask(
        tmp_path,
        7,
        in_thread=in_thread,
        records=Writer,
        clock=clock,
        wall=lambda: wall[0],
        on_deleted=counted.append,
    )
    first = aged(tmp_path / "CA1.wav", 8)
    second = aged(tmp_path / "CA2.wav", 6.99)
    running = asyncio.ensure_future(task.run())
    await clock.settle()
    assert not first.exists() and second.exists() and task.sweeps == 1
    assert [e.path for e in noted] == [str(first)] and counted == [1]
    assert noted[0].deleted_at == datetime.fromtimestamp(NOW, UTC)
    wall[0] += 3600  # an hour on: the second file is now older than seven days
    await clock.advance(PERIOD_S)
    assert not second.exists() and task.sweeps == 2 and counted == [1, 1]
    running.cancel()


async def test_the_route_serves_behind_the_token_and_retention_runs_at_start(
    start_server, tmp_path
):
    db = f"sqlite:///{tmp_path}/calls.db"
    folder = tmp_path / "recordings"
    folder.mkdir()
    fresh, old, gone = (folder / f"CA{n * 32}.wav" for n in "fog")
    fresh.write_bytes(_wav(frames(800, 5)))
    old.write_bytes(_wav(frames(800, 6)))
    os.utime(old, (time.time() - 3 * DAY_S,) * 2)
    store = await Store.open(db)
    started = datetime.now(UTC)
    events = []
    for path, sid in ((fresh, "CA" + "f" * 32), (old, "CA" + "o" * 32), (gone, "CA" + "g" * 32)):
        events += [CallStarted(sid, None, None, None, None, "receptionist", started)]
        events += [RecordingStarted(sid, str(path)), RecordingEnded(sid, 0.1)]
    events.append(CallStarted("CA" + "n" * 32, None, None, None, None, "receptionist", started))
    await store.apply(events)
    await store.close()

    server = await start_server(
        ADMIN_TOKEN="admin-secret-1",
        DATABASE_URL=db,
        RECORDINGS_DIR=str(folder),
        RECORDING_RETENTION_DAYS="2",
    )
    retention = server.services.recordings.retention
    for _ in range(200):  # the first sweep runs as the server starts
        if retention.sweeps:
            break
        await asyncio.sleep(0.01)
    assert not old.exists() and fresh.exists()
    assert await server.services.records.writer.flush()
    assert server.services.metrics.value("switchboard_recordings_deleted_total") == 1

    auth = {"Authorization": "Bearer admin-secret-1"}
    async with aiohttp.ClientSession(server.base_url) as http:
        url = f"/calls/CA{'f' * 32}/recording"
        async with http.get(url) as resp:
            assert resp.status == 401
        async with http.get(url, headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 401
        async with http.get(url, headers=auth) as resp:
            assert resp.status == 200 and resp.content_type == "audio/wav"
            assert await resp.read() == fresh.read_bytes()
        async with http.get(f"/calls/CA{'o' * 32}/recording", headers=auth) as resp:
            assert resp.status == 410 and "retention" in await resp.text()
        async with http.get(f"/calls/CA{'o' * 32}", headers=auth) as resp:
            record = (await resp.json())["recording"]
            assert record["deleted_at"] and record["path"] == str(old)
        for sid in ("g" * 32, "n" * 32, "x" * 32):  # file missing, not recorded, no call
            async with http.get(f"/calls/CA{sid}/recording", headers=auth) as resp:
                assert resp.status == 404
        async with http.get(f"/recordings/{fresh.name}") as resp:
            assert resp.status == 404  # no static route


def _wav(data: bytes) -> bytes:
    return header(len(data), 2, 8000) + data

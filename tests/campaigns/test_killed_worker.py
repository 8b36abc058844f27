"""A worker killed (SIGKILL) in the middle of a REST request: everything it committed is
kept, and the contact it was dialing is never redialled on a guess (SQLite and Postgres)."""

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from agent.campaigns import states as s
from agent.campaigns.contacts_csv import Contact
from agent.campaigns.store import contact_rows, create_campaign, get_campaign
from agent.campaigns.worker import CampaignWorker
from agent.records.store import Store
from tests.campaigns.fakes import FakeCalls, VirtualClock, deps, reminder_settings

ROOT = Path(__file__).resolve().parents[2]


async def test_a_killed_worker_loses_nothing_and_its_dial_is_not_repeated(database_url, tmp_path):
    store = await Store.open(database_url)
    numbers = [f"+1555400{i:04d}" for i in range(8)]
    settings = reminder_settings(max_attempts=1)
    now = datetime.now(UTC)
    cid = await create_campaign(
        store.engine, settings, [Contact(i + 2, n) for i, n in enumerate(numbers)], now
    )
    out, go = tmp_path / "placed.txt", tmp_path / "go"
    go.touch()
    args = ["-m", "tests.campaigns.worker_process", database_url, cid, str(out), str(go)]
    worker = await asyncio.create_subprocess_exec(sys.executable, *args, numbers[4], cwd=ROOT)
    try:
        for _ in range(1500):
            if out.exists() and f"{numbers[4]} hanging" in out.read_text():
                break
            await asyncio.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), 30)
        rows = {r["number"]: r for r in await contact_rows(store.engine, cid)}
        assert [rows[n]["state"] for n in numbers[:4]] == [s.ANSWERED] * 4  # committed: kept
        hung = rows[numbers[4]]
        assert (hung["state"], hung["call_sid"], hung["attempts"]) == (s.DIALING, None, 1)
        assert f":{worker.pid}:" in hung["claimed_by"]

        # resume at once: the dead worker is on this host, so its claim is known to be gone
        clock = VirtualClock(datetime.now(UTC))
        calls = FakeCalls(clock, ring_s=1)
        campaign = await get_campaign(store.engine, cid)
        result = await CampaignWorker(campaign, deps(store.engine, calls)).run()
        assert result.finished
        rows = {r["number"]: r for r in await contact_rows(store.engine, cid)}
        assert rows[numbers[4]]["state"] == s.UNKNOWN  # nobody to ask: the owner decides
        assert [r.to for r in calls.placed] == numbers[5:]  # the rest, once each
        assert all(rows[n]["state"] == s.ANSWERED for n in numbers[5:])
    finally:
        if worker.returncode is None:
            worker.kill()
        await store.close()

"""Two worker processes on one campaign through Postgres (FOR UPDATE SKIP LOCKED): every
contact is placed exactly once, and both workers took a share."""

import asyncio
import collections
import sys
from datetime import UTC, datetime
from pathlib import Path

from agent.campaigns import states as s
from agent.campaigns.contacts_csv import Contact
from agent.campaigns.store import contact_rows, create_campaign
from agent.records.store import Store
from tests.campaigns.fakes import reminder_settings

ROOT = Path(__file__).resolve().parents[2]


async def test_two_processes_place_each_contact_exactly_once(postgres_url, tmp_path):
    store = await Store.open(postgres_url)
    numbers = [f"+1555200{i:04d}" for i in range(40)]
    settings = reminder_settings(concurrency=3, max_attempts=1)
    contacts = [Contact(i + 2, n) for i, n in enumerate(numbers)]
    cid = await create_campaign(store.engine, settings, contacts, datetime.now(UTC))
    out, go = tmp_path / "placed.txt", tmp_path / "go"
    args = ["-m", "tests.campaigns.worker_process", postgres_url, cid, str(out), str(go)]
    workers = [
        await asyncio.create_subprocess_exec(sys.executable, *args, cwd=ROOT) for _ in range(2)
    ]
    go.touch()
    codes = await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers)), 120)
    try:
        assert codes == [0, 0]
        lines = [line.split() for line in out.read_text().splitlines()]
        placed = collections.Counter(number for number, _ in lines)
        assert placed == collections.Counter(numbers)  # each exactly once
        by_worker = collections.Counter(pid for _, pid in lines)
        assert len(by_worker) == 2, by_worker  # both took a share
        rows = await contact_rows(store.engine, cid)
        assert {(r["state"], r["attempts"]) for r in rows} == {(s.ANSWERED, 1)}
    finally:
        await store.close()

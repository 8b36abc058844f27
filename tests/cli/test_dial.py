"""`python -m agent dial`: refused before any REST request when the calls in progress (the
call records and the campaigns' contacts in flight) already fill MAX_CALLS x WEB_CONCURRENCY."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from agent.campaigns import claims
from agent.campaigns.contacts_csv import Contact
from agent.campaigns.store import create_campaign
from agent.records.store import Store
from tests.campaigns.fakes import reminder_settings

ROOT = Path(__file__).resolve().parents[2]


def _dial(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": "sqlite:///calls.db",
        "GRAPHS_DIR": str(ROOT / "graphs"),
        "PUBLIC_HOST": "example.test",
        "FROM_NUMBER": "+15550009999",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "not-a-real-token",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",  # nothing listens: a request would fail
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "agent", "dial", "+15551234567", "--graph", "reminder"]
        + ["--var", "name=Ann", "--var", "time=3 pm"],
        cwd=tmp_path,  # no .env here
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _one_campaign_call_in_progress(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path}/calls.db")
    settings = reminder_settings()
    at = datetime.now(UTC)
    cid = await create_campaign(store.engine, settings, [Contact(2, "+15550001111")], at)
    claimed = await claims.claim(store.engine, cid, "w", at)
    await claims.placed(store.engine, claimed.id, "w", "CA" + "1" * 32)
    await store.close()


def test_no_room_refuses_before_calling_and_room_lets_the_request_go(tmp_path):
    asyncio.run(_one_campaign_call_in_progress(tmp_path))
    full = _dial(tmp_path, MAX_CALLS="1", WEB_CONCURRENCY="1")
    assert full.returncode == 1, full.stderr
    assert "not called (busy): 1 calls in progress already (MAX_CALLS x WEB_CONCURRENCY" in (
        full.stderr
    )
    assert "Traceback" not in full.stderr
    # One more place (two processes): the request goes to Twilio, here nobody, and fails.
    room = _dial(tmp_path, MAX_CALLS="1", WEB_CONCURRENCY="2")
    assert room.returncode == 1 and "busy" not in room.stderr, room.stderr
    assert "not called (twilio_error)" in room.stderr, room.stderr

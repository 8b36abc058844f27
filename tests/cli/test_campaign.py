"""`python -m agent campaign`: bad rows named by line and column without losing the good
ones, bad options and an unknown graph as one line, status / list / the results CSV."""

from __future__ import annotations

import asyncio
import csv
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


def _campaign(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LOG_LEVEL": "WARNING", **env}
    return subprocess.run(
        [sys.executable, "-m", "agent", "campaign", *args],
        cwd=tmp_path,  # no .env here
        env={**environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": "sqlite:///calls.db"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_rows_are_named_and_an_unknown_graph_stops_before_any_call(tmp_path):
    (tmp_path / "calls.csv").write_text(
        "number,name,timezone\n+15551234567,Ann,Europe/Paris\n12,Bob,\n+15551234568,Cy,Mars/Base\n"
    )
    result = _campaign(
        tmp_path,
        "run",
        "calls.csv",
        "--graph",
        "nope",
        PUBLIC_HOST="example.test",
        GRAPHS_DIR=str(ROOT / "graphs"),
    )
    assert result.returncode == 2, result.stderr
    assert "calls.csv: line 3, column number: '12' is not a phone number" in result.stderr
    assert "calls.csv: line 4, column timezone: unknown time zone 'Mars/Base'" in result.stderr
    assert "unknown graph 'nope'" in result.stderr
    assert "Traceback" not in result.stderr
    bad = _campaign(tmp_path, "run", "calls.csv", "--graph", "x", "--window", "9-5")
    assert bad.returncode == 1 and "should be HH:MM-HH:MM" in bad.stderr


def test_status_list_and_results_csv(tmp_path):
    async def seed() -> str:
        store = await Store.open(f"sqlite:///{tmp_path}/calls.db")
        settings = reminder_settings(
            window="09:00-20:00",
            timezone="Europe/Paris",
            concurrency=5,
            retry_s=600,
            source="calls.csv",
        )
        at = datetime(2026, 12, 7, 10, tzinfo=UTC)
        contacts = [Contact(2, "+15551234567", {"name": "Ann"}), Contact(3, "+15551234568")]
        cid = await create_campaign(store.engine, settings, contacts, at)
        claimed = await claims.claim(store.engine, cid, "w", at)
        await claims.placed(store.engine, claimed.id, "w", "CA123")
        await claims.ended(
            store.engine,
            claimed.id,
            "w",
            state="voicemail",
            outcome="completed",
            answered_by="machine",
            duration_s=20.0,
            next_attempt_at=None,
        )
        await store.close()
        return cid

    cid = asyncio.run(seed())
    status = _campaign(tmp_path, "status", cid, "--results", "out.csv")
    assert status.returncode == 0, status.stderr
    assert f"campaign {cid} (active): graph reminder, window 09:00-20:00" in status.stdout
    assert "1/2 done [called 1 answered 0 voicemail 1 busy 0 no-answer 0 refused 0 waiting 1]" in (
        status.stdout
    )
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [
        (r["number"], r["name"], r["state"], r["answered_by"], r["call_sid"]) for r in rows
    ] == [
        ("+15551234567", "Ann", "voicemail", "machine", "CA123"),
        ("+15551234568", "", "pending", "", ""),
    ]
    assert rows[0]["last_attempt_at"] == "2026-12-07T10:00:00Z"
    listed = _campaign(tmp_path, "list")
    assert cid in listed.stdout and "reminder" in listed.stdout
    unknown = _campaign(tmp_path, "status", "nope")
    assert unknown.returncode == 1 and "no campaign 'nope'" in unknown.stderr

"""The recording in the call's record: the v3 migration, the three events, the CLI."""

from __future__ import annotations

import argparse
import sqlite3
from datetime import UTC, datetime

from agent.cli.calls import _run, add_arguments, format_call
from agent.records import models
from agent.records.recordings import RecordingDeleted, RecordingEnded, RecordingStarted
from agent.records.store import CallStarted, Store

SID = "CA" + "7" * 32
COLUMNS = ("recording_path", "recording_duration_s", "recording_deleted_at")


async def test_a_v2_database_gains_the_recording_columns_and_the_events_apply(tmp_path):
    url = f"sqlite:///{tmp_path}/calls.db"
    await (await Store.open(url)).close()
    db = sqlite3.connect(tmp_path / "calls.db")  # back to what a v2 server left
    db.execute("DROP INDEX ix_calls_recording_path")
    for column in (*COLUMNS, "end_reason"):  # end_reason: v6
        db.execute(f"ALTER TABLE calls DROP COLUMN {column}")
    db.execute("UPDATE schema_version SET version = 2")
    db.commit()
    db.close()

    store = await Store.open(url)
    # v3 recording, v4 transfers, v5 messages, v6 end_reason, and whatever came after
    assert await store.migrate() == models.SCHEMA_VERSION >= 6
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    path = str(tmp_path / f"{SID}.wav")
    await store.apply(
        [
            CallStarted(SID, None, None, "+1555", None, "receptionist", started),
            RecordingStarted(SID, path),
            RecordingEnded(SID, 12.5),
        ]
    )
    call = await store.get_call(SID)
    assert call["recording"] == {"path": path, "duration_s": 12.5, "deleted_at": None}
    assert f"recording: {path} (12.5 s)" in format_call(call)
    await store.apply([RecordingDeleted(path, datetime(2026, 2, 1, tzinfo=UTC))])
    call = await store.get_call(SID)
    assert call["recording"]["deleted_at"] == "2026-02-01T00:00:00Z"
    assert "recording: deleted at 2026-02-01T00:00:00Z" in format_call(call)
    await store.close()


async def test_calls_recording_flag_copies_the_file_or_says_why_not(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/calls.db"
    store = await Store.open(url)
    started = datetime.now(UTC)
    path = tmp_path / "CA1.wav"
    path.write_bytes(b"RIFF....WAVE")
    await store.apply(
        [
            CallStarted("CA1", None, None, None, None, "receptionist", started),
            RecordingStarted("CA1", str(path)),
            CallStarted("CA2", None, None, None, None, "receptionist", started),
        ]
    )
    await store.close()
    parser = argparse.ArgumentParser()
    add_arguments(parser.add_subparsers().add_parser("calls"))

    async def calls(*argv: str) -> int:
        return await _run(parser.parse_args(["calls", *argv]), url, 1.0)

    out = tmp_path / "out.wav"
    assert await calls("CA1", "--recording", str(out)) == 0
    assert out.read_bytes() == path.read_bytes()
    assert await calls("CA2", "--recording", str(out)) == 1
    assert "CA2 was not recorded" in capsys.readouterr().err
    assert await calls("--recording", str(out)) == 2
    path.unlink()
    assert await calls("CA1", "--recording", str(out)) == 1
    assert "file is missing" in capsys.readouterr().err

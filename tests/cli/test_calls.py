"""`python -m agent calls`: a database that does not answer, or a bad --since, is one clear
line and exit 2, not a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _calls(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "agent", "calls", *args],
        cwd=tmp_path,  # no .env here
        env={**environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unreachable_database_is_one_line_naming_host_and_port(tmp_path):
    port = _closed_port()
    result = _calls(
        tmp_path,
        DATABASE_URL=f"postgresql://rec:s3cret-pw@127.0.0.1:{port}/calls",
        DATABASE_WAIT_SECONDS="0.5",
    )
    assert result.returncode == 2, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_bad_since_is_one_line(tmp_path):
    result = _calls(tmp_path, "--since", "last tuesday", DATABASE_URL="sqlite:///calls.db")
    assert result.returncode == 2
    assert "--since: expected an ISO date or date-time" in result.stderr
    assert "Traceback" not in result.stderr

"""First run, as a new user would do it: `cp .env.example .env`, no keys, `python -m agent serve`,
then `python -m agent call --say ...` from the same folder. And the start refused, in one
clear line, when the Postgres in DATABASE_URL is not there.

The folder is a temporary copy of what a checkout has at its root: `.env` copied verbatim from
`.env.example`, `graphs/` and `audio_cache/` linked (GRAPHS_DIR=graphs is relative). Only the
port and interface come from the environment (a free loopback port); no provider key does.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ROOT
from tests.e2e.test_local_call import said_by
from tests.e2e.test_serve_process import Server, free_port, process_env

pytestmark = pytest.mark.timeout(240)

PASSWORD = "pg-pass-5f1c9"


def checkout_like(folder: Path) -> Path:
    """`cp .env.example .env` in a folder with the checkout's graphs and cached audio."""
    (folder / ".env").write_text((ROOT / ".env.example").read_text())
    for name in ("graphs", "audio_cache"):
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    return folder


async def run_call(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent",
        "call",
        *args,
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    return proc.returncode, out.decode(), err.decode()


async def test_a_keyless_copy_of_env_example_serves_the_local_graph_and_answers(tmp_path):
    folder = checkout_like(tmp_path)
    env = {"PORT": str(free_port()), "HOST": "127.0.0.1"}  # everything else from .env
    server = await Server(env, folder).start()
    try:
        async with aiohttp.ClientSession() as http:
            health = await server.wait_healthy(http, timeout=120)
        assert health["graphs"] == ["local"], server.output
        assert "serving the local graph 'local'" in server.output

        # The README's command, from the same folder: it finds the server through .env's PORT.
        code, out, err = await run_call(env, folder, "--say", "How much is it?")
        assert code == 0, f"exit {code}\n{out}\n{err}\n--- server ---\n{server.output}"
        agent = said_by(out, "agent")
        assert said_by(out, "caller") == ["how much is it?"], out
        assert len(agent) >= 2 and "how can i help" in agent[0], out
        assert "plan" in agent[1] and "answered in" in agent[1], out  # the router's price
    finally:
        await server.stop()
    assert "refusing to start" not in server.output


async def test_serve_with_postgres_unreachable_refuses_to_start_naming_host_and_port(
    fakes, tmp_path
):
    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = process_env(
        fakes,
        DATABASE_URL=f"postgresql://switchboard:{PASSWORD}@127.0.0.1:{port}/switchboard",
        DATABASE_WAIT_SECONDS="1",
    )
    server = await Server(env, tmp_path).start()
    try:
        code = await server.wait(60)
    finally:
        await server.stop()
    output = server.output
    assert code == 2, output
    [refusal] = [line for line in output.splitlines() if "refusing to start" in line]
    assert f"call-record database at 127.0.0.1:{port} (DATABASE_URL)" in refusal, output
    assert "Connection refused" in refusal or "Connect call failed" in refusal, refusal
    assert "not reachable (attempt 1" in output  # each attempt is logged
    assert PASSWORD not in output
    assert "listening" not in output

"""Local mode, with real audio both ways: `python -m agent serve` with no provider keys, and
`python -m agent call` talking to it exactly as Twilio would.

The caller's lines are spoken by Piper; the server hears them with Whisper, answers from the
router's cached audio or the graph's scripted answers, speaks with Piper; the call command
writes the agent's audio down with Whisper again. So every answer checked here went through
speech → text → answer → speech → text. No fakes: nothing here needs a provider.
"""

from __future__ import annotations

import asyncio
import os
import sys
import wave

import pytest

from tests.conftest import AUTH_TOKEN, PUBLIC_HOST, ROOT
from tests.e2e.test_serve_process import Server, free_port

pytestmark = pytest.mark.timeout(240)


def local_env() -> dict[str, str]:
    # No DEEPGRAM/GROQ/CARTESIA keys: local mode. Signed like a real deployment.
    return {
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "GRAPHS_DIR": str(ROOT / "graphs"),
        "PUBLIC_HOST": PUBLIC_HOST,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "LOG_LEVEL": "INFO",
    }


async def run_call(env: dict[str, str], cwd, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent",
        "call",
        f"http://127.0.0.1:{env['PORT']}",
        *args,
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    return proc.returncode, out.decode(), err.decode()


def said_by(output: str, who: str) -> list[str]:
    """The transcript lines of one side, lower case, notes included."""
    return [
        line.split("│", 1)[1].strip().lower()
        for line in output.splitlines()
        if "│" in line and line.split("│", 1)[0].split()[-1] == who
    ]


@pytest.fixture
async def local_server(tmp_path):
    import aiohttp

    server = await Server(local_env(), tmp_path).start()
    async with aiohttp.ClientSession() as http:
        health = await server.wait_healthy(http, timeout=90)
    yield server, health
    await server.stop()


async def test_a_keyless_server_holds_a_spoken_conversation(local_server, tmp_path):
    server, health = local_server
    assert health["graphs"] == ["local"]
    assert "serving the local graph 'local'" in server.output

    code, out, err = await run_call(
        server.env,
        tmp_path,
        "--say", "What are your opening hours?",
        "--say", "How much does it cost?",
        "--barge-in", "1500",
        "--say", "Wait, where is your office?",
        "--say", "Thanks, that's all. Bye.",
        "--wav-out", "call.wav",
        "--timeline", "call.html",
    )  # fmt: skip
    assert code == 0, f"exit {code}\n{out}\n{err}\n--- server ---\n{server.output}"

    caller, agent = said_by(out, "caller"), said_by(out, "agent")
    assert caller == [
        "what are your opening hours?",
        "how much does it cost?",
        "wait, where is your office?",
        "thanks, that's all. bye.",
    ]
    # greeting, hours (script), price (router, cut off), office (script), goodbye (script)
    assert len(agent) == 5, out
    assert "how can i help" in agent[0]
    assert "five" in agent[1] and "friday" in agent[1] and "answered in" in agent[1]
    assert "plan" in agent[2] and "cut off by clear" in agent[2]
    assert "main street" in agent[3] and "answered in" in agent[3]
    assert "goodbye" in agent[4]
    assert "call ended by the agent" in out
    assert "underruns 0" in out

    with wave.open(str(tmp_path / "call.wav")) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        assert wav.getnframes() > 8000 * 10  # the whole call, on its own clock
    page = (tmp_path / "call.html").read_text()
    assert "<svg" in page and "Wait, where is your office?" in page

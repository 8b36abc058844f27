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


async def test_llm_base_url_answers_through_any_openai_compatible_server(fakes, start_server):
    # The Groq fake speaks the OpenAI chat API, as Ollama or llama.cpp's server do.
    from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
    from agent.sim.voice import say_ulaw, transcribe_ulaw

    server = await start_server(
        DEFAULT_GRAPH="local",
        LLM_BASE_URL=fakes.env()["GROQ_BASE_URL"],
        LLM_MODEL="llama-3.3-70b-versatile",
    )
    fakes.groq.replies = [("parking", "Yes, there is free parking behind the building.")]
    emulator = server.emulator()
    question = "Is there any parking near you?"
    result = await emulator.place_call(
        [
            WaitForAgentAudio(timeout=15),
            WaitForAgentSilence(pause=0.3, timeout=15),
            Say(say_ulaw(question), question),
            WaitForAgentAudio(timeout=15),
            WaitForAgentSilence(pause=0.3, timeout=20),
            HangUp(),
        ],
        query={},
        max_duration=60,
    )
    assert not result.timeouts, result.timeouts
    [request] = fakes.groq.requests
    assert request["model"] == "llama-3.3-70b-versatile"
    said = [m["content"] for m in request["messages"] if m["role"] == "user"][-1]
    assert "parking" in said.lower()  # Whisper heard the caller
    answer = result.heard_runs()[-1][2]
    assert "parking" in (await asyncio.to_thread(transcribe_ulaw, answer)).lower()  # Piper said it

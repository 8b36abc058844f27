"""`python -m agent serve` as a real process: it answers calls, drains on SIGTERM, exits 0, and
refuses to start (exit 2, saying why) on a bad graph, an unknown Groq model or a missing key.

The provider fakes run in the test's event loop, so the process is driven with asyncio
(a blocking subprocess call would starve the fakes). The process runs in a temporary folder
so a developer's `.env` cannot leak into it; its whole output is checked for secrets.
"""

from __future__ import annotations

import asyncio
import audioop
import os
import re
import shutil
import signal
import socket
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import aiohttp
import pytest

from agent.sim.emulator import TwilioEmulator, TwiMLError
from agent.sim.script import HangUp, Pause, Say, WaitForAgentAudio, WaitForAgentSilence
from tests import conftest
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_HOST, ROOT, caller_audio

# Not "how much does it cost": the receptionist's router answers that from its audio cache.
QUESTION = "what are your opening hours"
ANSWER = "We're open from nine to five, Monday to Friday."
DRAIN_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def secrets_of(env: dict[str, str]) -> list[str]:
    names = ("TWILIO_AUTH_TOKEN", "DEEPGRAM_API_KEY", "GROQ_API_KEY", "CARTESIA_API_KEY")
    return [env[name] for name in names if env.get(name)]


class Server:
    """One `python -m agent serve` process, its output collected as it comes."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env = env
        self.cwd = cwd
        self.port = int(env["PORT"])
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    async def start(self) -> Server:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "agent",
            "serve",
            cwd=self.cwd,
            env={
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                **self.env,
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc and self.proc.stdout
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace"))

    async def wait(self, timeout: float = 60.0) -> int:
        """The exit code (the process is killed if it outlives `timeout`)."""
        assert self.proc
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"still running after {timeout}s:\n{self.output}") from None
        if self._reader:
            await asyncio.wait_for(self._reader, 10)
        return code

    def emulator(self) -> TwilioEmulator:
        """Twilio as configured for this server: signed, over the public URL."""
        return TwilioEmulator(
            self.base_url,
            auth_token=AUTH_TOKEN,
            account_sid=ACCOUNT_SID,
            public_base_url=f"https://{PUBLIC_HOST}",
        )

    async def health(self, http: aiohttp.ClientSession) -> tuple[int, dict] | None:
        try:
            async with http.get(self.base_url + "/health") as resp:
                return resp.status, await resp.json()
        except aiohttp.ClientError:
            return None

    async def wait_healthy(self, http: aiohttp.ClientSession, timeout: float = 60.0) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            assert self.proc and self.proc.returncode is None, f"exited:\n{self.output}"
            answer = await self.health(http)
            if answer and answer[0] == 200:
                return answer[1]
            await asyncio.sleep(0.2)
        raise AssertionError(f"/health not ready after {timeout}s:\n{self.output}")

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def serve(tmp_path):
    """Factory: start `python -m agent serve` with an environment; killed at teardown."""
    started: list[Server] = []

    async def start(env: dict[str, str]) -> Server:
        server = await Server(env, tmp_path).start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


def process_env(fakes, **overrides: str) -> dict[str, str]:
    defaults = {
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "DRAIN_SECONDS": str(DRAIN_SECONDS),
        "LOG_LEVEL": "DEBUG",  # the most output there is: none of it may show a secret
    }
    return conftest.server_env(fakes.env(), **{**defaults, **overrides})


def assert_no_secrets(output: str, env: dict[str, str]) -> None:
    for secret in secrets_of(env):
        assert secret not in output, f"a secret ({secret[:3]}...) appears in the output"


async def _until(condition, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_serve_answers_a_call_then_drains_on_sigterm(fakes, serve):
    fakes.deepgram.set_script([QUESTION])
    fakes.groq.replies = [("hours", ANSWER)]
    env = process_env(fakes)
    server = await serve(env)
    async with aiohttp.ClientSession() as http:
        health = await server.wait_healthy(http)
        assert health["status"] == "ok" and health["active_calls"] == 0
        emulator = server.emulator()

        # 1. A whole call: greeting, one question, its answer.
        first = await emulator.place_call(
            [
                WaitForAgentAudio(timeout=15),
                WaitForAgentSilence(pause=0.2, timeout=15),
                Say(caller_audio("what_are_your_opening_hours"), QUESTION),
                WaitForAgentAudio(timeout=15),
                WaitForAgentSilence(pause=0.2, timeout=20),
                HangUp(),
            ],
            max_duration=50,
        )
        assert not first.timeouts, (first.timeouts, server.output[-3000:])
        assert first.closed_by == "caller"
        answers = [
            cid
            for cid, text in fakes.cartesia.transcripts_by_context().items()
            if "nine to five" in text
        ]
        assert answers, fakes.cartesia.transcripts_by_context()
        answer_audio = fakes.cartesia.audio_by_context[answers[0]]
        assert audioop.lin2ulaw(answer_audio, 2)[:8000] in first.heard
        assert len(first.agent_speech_segments) >= 2  # greeting, then the answer
        # The process times every garbage collection on /metrics (agent/app/gc_tuning.py).
        async with http.get(server.base_url + "/metrics") as resp:
            exposition = await resp.text()
        young = re.search(
            r'^switchboard_gc_pause_seconds_count\{generation="0"\} (\S+)$', exposition, re.M
        )
        assert young is not None and float(young.group(1)) > 0, exposition[:2000]

        # 2. A second call stays on the line; SIGTERM arrives while it is live.
        # (its greeting plays from the audio cache: the STT connection says its pipeline runs)
        connections_before = fakes.deepgram.connection_count
        second = asyncio.create_task(
            emulator.place_call([WaitForAgentAudio(timeout=15), Pause(60)], max_duration=60)
        )

        async def second_call_live() -> bool:
            answer = await server.health(http)
            live = answer is not None and answer[1]["active_calls"] == 1
            return live and fakes.deepgram.connection_count > connections_before

        assert await _until(second_call_live, 20), server.output[-3000:]
        loop = asyncio.get_running_loop()
        server.proc.send_signal(signal.SIGTERM)
        signalled = loop.time()

        async def draining() -> bool:
            answer = await server.health(http)
            return answer is not None and answer[0] == 503

        assert await _until(draining, 5), server.output[-3000:]
        status, body = await server.health(http)
        assert (status, body["status"]) == (503, "draining")
        # A call ringing now hears the busy message instead of being connected.
        with pytest.raises(TwiMLError) as busy:
            await emulator.place_call([HangUp()])
        assert [e.tag for e in ET.fromstring(busy.value.twiml)] == ["Say", "Hangup"]

        result = await asyncio.wait_for(second, DRAIN_SECONDS + 15)
        ended_after = loop.time() - signalled
    assert result.closed_by == "server", result.timeline[-5:]
    # Allowed to go on for DRAIN_SECONDS, then ended (generous upper bound: a loaded machine).
    assert DRAIN_SECONDS * 0.75 <= ended_after <= DRAIN_SECONDS + 10, ended_after

    # The REST hang-up runs in the background once the socket is closed: give it a moment.
    async def hung_up() -> bool:
        return fakes.twilio.hung_up(result.call_sid)

    assert await _until(hung_up, 5), fakes.twilio.hangups
    assert not fakes.twilio.hung_up(first.call_sid)  # the caller hung that one up himself
    # Before the hang-up the drained caller heard the goodbye, byte for byte from the cache.
    assert (ROOT / "audio_cache" / "goodbye.ulaw").read_bytes() in result.heard

    assert await server.wait(30) == 0, server.output[-3000:]
    output = server.output
    assert "call ended: caller_hung_up" in output  # the first call
    assert "call ended: drained" in output  # the second
    assert "draining" in output and "stopped" in output
    assert_no_secrets(output, env)


def _break_graph(tmp_path: Path) -> Path:
    graphs = tmp_path / "graphs"
    shutil.copytree(ROOT / "graphs", graphs)
    path = graphs / "receptionist.yaml"
    path.write_text(path.read_text().replace("type: cartesia_tts", "type: cartesia_ttz"))
    return graphs


@pytest.mark.parametrize(
    "case, expected",
    [
        pytest.param(
            "broken_graph",
            ["refusing to start", "receptionist.yaml", "cartesia_ttz", "cartesia_tts"],
            id="invalid-graph",
        ),
        pytest.param(
            "unknown_model",
            ["refusing to start", "llama-9-imaginary", "llama-3.3-70b-versatile"],
            id="unknown-groq-model",
        ),
        pytest.param(
            "no_deepgram_key", ["refusing to start", "DEEPGRAM_API_KEY"], id="missing-key"
        ),
        pytest.param("port_taken", ["refusing to start", "cannot listen on"], id="port-taken"),
    ],
)
async def test_serve_refuses_to_start_and_says_why(fakes, serve, tmp_path, case, expected):
    taken = socket.socket()  # listening without SO_REUSEPORT: nobody else may bind the port
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    overrides = {
        "broken_graph": {"GRAPHS_DIR": str(_break_graph(tmp_path))},
        "unknown_model": {"GROQ_MODEL": "llama-9-imaginary"},
        "no_deepgram_key": {"DEEPGRAM_API_KEY": ""},
        "port_taken": {"PORT": str(taken.getsockname()[1])},
    }[case]
    env = process_env(fakes, **overrides)
    with taken:
        server = await serve(env)
        code = await server.wait(60)
    output = server.output
    assert code == 2, output
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output}"
    if case == "unknown_model":
        for model in fakes.groq.models:  # every model on offer is listed
            assert model in output, output
    assert "listening" not in output
    assert_no_secrets(output, env)

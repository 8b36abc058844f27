"""Shared fixtures: provider fakes, a configured server on a real port, the Twilio emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

ROOT = Path(__file__).resolve().parents[1]
AUDIO = ROOT / "tests" / "fixtures" / "audio"
PUBLIC_HOST = "switchboard.example.test"
AUTH_TOKEN = "test-auth-token-0123456789"
ACCOUNT_SID = "AC" + "0" * 32


def server_env(fakes_env: dict[str, str], **overrides: str) -> dict[str, str]:
    """A complete environment for a server talking to the fakes (dummy keys)."""
    env = {
        **fakes_env,
        "PUBLIC_HOST": PUBLIC_HOST,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "DEEPGRAM_API_KEY": "dg-test-key-123",
        "GROQ_API_KEY": "gsk-test-key-123",
        "CARTESIA_API_KEY": "sk-cartesia-test-123",
        "GRAPHS_DIR": str(ROOT / "graphs"),
        "LOG_LEVEL": "WARNING",
    }
    env.update(overrides)
    return env


@pytest.fixture
async def fakes():
    from agent.sim.fakes import ProviderFakes

    async with ProviderFakes() as running:
        yield running


@dataclass
class RunningServer:
    app: web.Application
    server: TestServer
    config: object

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def services(self):
        from agent.app.server import SERVICES

        return self.app[SERVICES]

    def emulator(self, auth_token: str | None = AUTH_TOKEN):
        from agent.sim.emulator import TwilioEmulator

        return TwilioEmulator(
            self.base_url,
            auth_token=auth_token,
            account_sid=ACCOUNT_SID,
            public_base_url=f"https://{PUBLIC_HOST}",
        )


@pytest.fixture
async def start_server(fakes, tmp_path) -> AsyncIterator[Callable]:
    """Factory: start our app against the fakes (env overrides as keyword arguments)."""
    from agent.app.server import create_app
    from agent.config import Config

    started: list[TestServer] = []

    async def start(**overrides: str) -> RunningServer:
        # call records go to the test's own folder, never to a calls.db in the repository
        overrides.setdefault("DATABASE_URL", f"sqlite:///{tmp_path}/calls.db")
        overrides.setdefault("RECORDINGS_DIR", f"{tmp_path}/recordings")  # nor recordings
        config = Config.load(env=server_env(fakes.env(), **overrides), dotenv_path=None)
        app = create_app(config)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        started.append(server)
        return RunningServer(app, server, config)

    yield start
    for server in started:
        await server.close()


def caller_audio(name: str) -> bytes:
    return (AUDIO / f"{name}.ulaw").read_bytes()


def custom_graphs(
    tmp_path: Path, *, call: dict | None = None, nodes: dict | None = None, chain=None
) -> str:
    """A GRAPHS_DIR holding the receptionist graph with some settings changed."""
    import shutil

    import yaml

    target = tmp_path / "graphs"
    shutil.copytree(ROOT / "graphs", target)
    (tmp_path / "audio_cache").symlink_to(ROOT / "audio_cache")  # the router's routes file
    path = target / "receptionist.yaml"
    graph = yaml.safe_load(path.read_text())
    graph["call"].update(call or {})
    for name, spec in (nodes or {}).items():
        graph["nodes"].setdefault(name, {}).update(spec)
    if chain is not None:
        graph["chain"] = chain
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    return str(target)


def ulaw_of(pcm16: bytes) -> bytes:
    import audioop

    return audioop.lin2ulaw(pcm16, 2)


def context_audio(fakes, needle: str) -> bytes:
    """The mu-law audio Cartesia produced for the context whose text contains `needle`."""
    for ctx, text in fakes.cartesia.transcripts_by_context().items():
        if needle in text:
            return ulaw_of(fakes.cartesia.audio_by_context[ctx])
    raise AssertionError(
        f"no TTS context spoke {needle!r}: {fakes.cartesia.transcripts_by_context()}"
    )


CHAR_S = 0.070  # the Cartesia fake's voice: 70 ms per character


def words_started_before(text: str, seconds: float) -> int:
    """How many words of `text` start before `seconds` of the Cartesia fake's audio."""
    count, position = 0, 0
    for word in text.split(" "):
        if position * CHAR_S < seconds:
            count += 1
        position += len(word) + 1
    return count


def heard_seconds_of(heard: bytes, audio: bytes) -> float:
    """How much of `audio` (mu-law, 8 kHz) the caller heard in `heard`, from its start: the
    length of the run of `heard` that matches it byte for byte (a barge-in cuts it)."""
    start = heard.index(audio[:1600])
    n = 0
    while start + n < len(heard) and n < len(audio) and heard[start + n] == audio[n]:
        n += 1
    return n / 8000


def graph_variants(tmp_path: Path, **variants: dict) -> str:
    """A GRAPHS_DIR holding graphs/ plus copies of the receptionist graph, one per keyword:
    the name, then the top-level keys given (numbers, hours, call updates under `call`)."""
    import yaml

    target = Path(custom_graphs(tmp_path))
    base = yaml.safe_load((target / "receptionist.yaml").read_text())
    for name, changes in variants.items():
        graph = {**base, "name": name, "call": {**base["call"], **changes.get("call", {})}}
        graph |= {k: v for k, v in changes.items() if k != "call"}
        (target / f"{name}.yaml").write_text(yaml.safe_dump(graph, sort_keys=False))
    return str(target)

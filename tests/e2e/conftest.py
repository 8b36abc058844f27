"""Fixtures and helpers for whole-call tests: reach into the server's per-call processors,
read a call's record, receive the call webhook, follow a call across a transfer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agent.sim.script import Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def controllers(monkeypatch) -> list:
    """Every CallController the server builds (one per call), to read its failures."""
    from processors.call_control import CallController

    made: list = []
    original = CallController.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(CallController, "__init__", init)
    return made


async def rest_hangups(fakes, count: int = 1, timeout: float = 5.0) -> list:
    """The Twilio REST fake's hang-up requests, once `count` have arrived (the REST hang-up
    runs in the background after the socket closes, so it can trail the call's end)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(fakes.twilio.hangups) < count and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return list(fakes.twilio.hangups)


@pytest.fixture
def recordings(monkeypatch) -> list:
    """Every CallRecording the server starts (one per recorded call), to read its clock."""
    from agent.recording.service import Recordings

    made: list = []
    original = Recordings.start_call

    def start_call(self, *args, **kwargs):
        recording = original(self, *args, **kwargs)
        made.append(recording)
        return recording

    monkeypatch.setattr(Recordings, "start_call", start_call)
    return made


def cached(name: str) -> bytes:
    """A phrase of the audio cache (raw mu-law), as the caller hears it."""
    return (ROOT / "audio_cache" / f"{name}.ulaw").read_bytes()


def caller_turn(text: str, audio: str = "who_are_you") -> list:
    """The caller says `text` (any recorded audio; the Deepgram fake's script has the words),
    then waits for the agent's answer to finish."""
    return [
        Say(caller_audio(audio), text),
        WaitForAgentAudio(timeout=10),
        WaitForAgentSilence(pause=0.2, timeout=15),
    ]


async def call_record(server, call_sid: str, ready=lambda call: True, timeout: float = 10.0):
    """GET /calls/SID (the server's ADMIN_TOKEN) once `ready(record)` holds; AssertionError
    with the last record seen if it never does."""
    import aiohttp

    headers = {"Authorization": f"Bearer {server.config.admin_token.reveal()}"}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    call = None
    async with aiohttp.ClientSession(headers=headers) as http:
        while True:
            async with http.get(f"{server.base_url}/calls/{call_sid}") as response:
                call = await response.json() if response.status == 200 else None
            if call is not None and ready(call):
                return call
            if loop.time() > deadline:
                raise AssertionError(f"no ready record for {call_sid}: {call}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def webhook():
    """A local receiver for the call webhook: (url, posts as (headers, raw body))."""
    posts: list[tuple[dict, bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        posts.append((dict(request.headers), await request.read()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/hook")), posts
    await server.close()


async def webhook_posts(posts: list, count: int = 1, timeout: float = 10.0) -> list:
    """The webhook receiver's posts, once `count` have arrived."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(posts) < count:
        if loop.time() > deadline:
            raise AssertionError(f"{len(posts)} call webhook posts, expected {count}")
        await asyncio.sleep(0.05)
    return posts


# --- transfers ---------------------------------------------------------------------------


def played_to_its_end_before(update, result) -> None:
    """The call update (the <Dial>) reached Twilio after the caller had heard the last of
    the phrase."""
    phrase_end = result.agent_speech_segments[-1][1]
    assert update.at >= result.started_at + phrase_end - 0.05, (update.at, phrase_end)


def script_after_transfer(fakes, lines: list[str]) -> asyncio.Task:
    """Script the Deepgram fake for the stream a call comes back on, once the call has been
    updated with its <Dial> (each STT connection starts at its script's first line). Cancel
    the task when the call is over."""

    async def rescript():
        while not fakes.twilio.twiml_updates:
            await asyncio.sleep(0.02)
        fakes.deepgram.set_script(lines)

    return asyncio.create_task(rescript())


def assert_dialled_unanswered_and_back(result, number: str):
    """The transfer dialled `number`, nobody answered, and the call came back to the agent on
    one new stream of the same call, which began with the "nobody could take it" phrase.
    Returns that stream."""
    [dialled] = result.dials
    assert (dialled["number"], dialled["status"], dialled["answer_status"]) == (
        number,
        "no-answer",
        200,
    )
    [back] = result.later_streams
    assert back.call_sid == result.call_sid and back.stream_sid != result.stream_sid
    assert back.parameters["resume"] == "transfer" and back.parameters["dial_status"] == "no-answer"
    assert back.heard.startswith(cached("transfer_failed")[:4000])
    return back

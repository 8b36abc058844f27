"""Fixtures for whole-call tests: reach into the server's per-call processors."""

from __future__ import annotations

import pytest


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

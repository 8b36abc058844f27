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

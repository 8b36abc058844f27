"""agent/adapters/events.py: declaring and firing events through pipecat's BaseObject."""

from __future__ import annotations

from pipecat.processors.frame_processor import FrameProcessor
from pipecat.utils.base_object import BaseObject

from agent.adapters.events import declare_event, fire_event
from tests.adapters.contract import assert_callable


def test_base_object_event_methods():
    assert_callable(BaseObject, "_register_event_handler", ["self", "event_name", "sync"])
    assert_callable(
        BaseObject, "_call_event_handler", ["self", "event_name", "args", "kwargs"], is_async=True
    )


async def test_a_declared_event_reaches_its_handlers():
    owner = FrameProcessor()
    seen = []
    declare_event(owner, "on_test", sync=True)

    @owner.event_handler("on_test")
    async def handler(source, value):
        seen.append((source, value))

    await fire_event(owner, "on_test", 7)
    assert seen == [(owner, 7)]

"""CallController.take_message / offer_message: the seam other parts of the front desk (after
hours, a transfer nobody answered) use to start message-taking: the phrase first, then the
frame behind it, on a fake clock."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import EndFrame, TTSSpeakFrame

from agent.adapters import engine
from agent.graph.model import CallSettings
from processors.call_control import CallController
from processors.clock import FakeClock
from processors.frames import OfferMessageFrame, TakeMessageFrame
from tests.processors.pacer_twilio import Recorder

OFFER = "Sorry, nobody could take your call. Can I take a message?"


async def test_the_phrase_then_the_frame_in_order():
    clock = FakeClock()
    controller = CallController(CallSettings(greeting=None), clock=clock)
    recorder = Recorder(clock)
    worker = engine.make_worker([controller, recorder])
    runner = asyncio.ensure_future(engine.run_worker(worker))
    await clock.settle()
    await controller.offer_message("transfer_failed", OFFER)
    await controller.take_message("after_hours", "We're closed right now.")
    await clock.settle()
    await worker.queue_frame(EndFrame())
    await clock.run_until(runner)
    kinds = [
        (type(f).__name__, getattr(f, "text", None) or getattr(f, "reason", None))
        for _, f in recorder.frames
        if isinstance(f, (TTSSpeakFrame, TakeMessageFrame, OfferMessageFrame))
    ]
    assert kinds == [
        ("TTSSpeakFrame", OFFER),
        ("OfferMessageFrame", "transfer_failed"),
        ("TTSSpeakFrame", "We're closed right now."),
        ("TakeMessageFrame", "after_hours"),
    ]

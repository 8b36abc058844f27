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


async def test_after_hours_the_greeting_asks_and_the_dialog_takes_over():
    from pipecat.tests.utils import run_test

    greeting = "We're closed right now, but I can take a message. May I have your name?"
    controller = CallController(
        CallSettings(greeting=greeting), clock=FakeClock(), message_at_start="after_hours"
    )
    down, _ = await run_test(controller, frames_to_send=[])
    said = [f for f in down if isinstance(f, (TTSSpeakFrame, TakeMessageFrame))]
    assert [type(f) for f in said] == [TTSSpeakFrame, TakeMessageFrame]
    assert said[0].text == greeting
    assert said[1].reason == "after_hours" and said[1].asked  # the greeting asked the name

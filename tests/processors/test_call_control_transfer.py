"""The call controller's transfers: a keypad digit, a TransferCallFrame (route or LLM tool);
the transfer phrase, then the end of the pipeline with reason "transfer"; an inactive
destination leaves the digit an ordinary key."""

from __future__ import annotations

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    EndWorkerFrame,
    InputDTMFFrame,
    LLMMessagesAppendFrame,
    TTSSpeakFrame,
)
from pipecat.tests.utils import run_test

from agent.graph.model import CallSettings, TransferDestination
from processors.call_control import CallController
from processors.clock import FakeClock
from processors.frames import OfferMessageFrame, TransferCallFrame
from tests.processors.clocked import run_steps


def finder(**destinations: str):
    table = {name: TransferDestination(to=to) for name, to in destinations.items()}

    def find(name):
        name = name or next(iter(table), None)
        found = table.get(name) if name else None
        return (name, found) if found is not None and found.active else None

    return find


def controller(find, **changes) -> CallController:
    settings = CallSettings(greeting=None, dtmf={"0": "transfer"}, **changes)
    return CallController(settings, clock=FakeClock(), destinations=find)


async def test_digit_0_says_the_phrase_then_ends_for_the_transfer_once():
    control = controller(finder(front_desk="+15550003333", sales=""))
    requests = []

    @control.event_handler("on_transfer")
    async def on_transfer(_controller, request):
        requests.append(request)

    down, _ = await run_test(
        control,
        frames_to_send=[
            InputDTMFFrame(KeypadEntry.ZERO),
            TransferCallFrame(destination="front_desk"),
        ],
    )
    assert [f.text for f in down if isinstance(f, TTSSpeakFrame)] == ["Connecting you now."]
    [end] = [f for f in down if isinstance(f, EndWorkerFrame)]
    assert end.reason == "transfer" and control.hang_up_reason == "transfer"
    assert down.index(end) > next(i for i, f in enumerate(down) if isinstance(f, TTSSpeakFrame))
    [request] = requests
    assert (request.name, request.to, request.via, request.reason) == (
        "front_desk",
        "+15550003333",
        "dtmf",
        "pressed 0",
    )
    assert request.ring_timeout_s == 20 and request.caller_id is None


async def test_an_inactive_destination_leaves_the_key_ordinary_and_ignores_requests():
    control = controller(finder(front_desk=""))
    down, _ = await run_test(
        control,
        frames_to_send=[InputDTMFFrame(KeypadEntry.ZERO), TransferCallFrame(via="llm")],
    )
    assert not [f for f in down if isinstance(f, (TTSSpeakFrame, EndWorkerFrame))]
    [told] = [f for f in down if isinstance(f, LLMMessagesAppendFrame)]
    assert told.messages[0]["content"] == "The caller pressed 0 on the keypad."
    assert control.transfers.request is None


async def test_a_route_transfer_says_nothing_more():
    control = controller(finder(front_desk="+15550003333"))
    down, _ = await run_test(
        control, frames_to_send=[TransferCallFrame(destination="front_desk", via="route", say="")]
    )
    assert not [f for f in down if isinstance(f, TTSSpeakFrame)]
    assert [f.reason for f in down if isinstance(f, EndWorkerFrame)] == ["transfer"]
    assert control.transfers.request.via == "route"


async def test_a_bound_hand_off_runs_once_the_phrase_has_played_then_the_call_ends():
    from pipecat.frames.frames import BotStartedSpeakingFrame, BotStoppedSpeakingFrame

    clock = FakeClock()
    control = CallController(
        CallSettings(greeting=None), clock=clock, destinations=finder(desk="+15550003333")
    )
    calls = []

    async def hand_off_now() -> bool:
        calls.append(clock.now())
        return True

    control.transfers.hand_off_now = hand_off_now
    down = await run_bounced(
        control,
        clock,
        [
            TransferCallFrame(destination="desk"),
            BotStartedSpeakingFrame(),
            1.0,
            BotStoppedSpeakingFrame(),
            0.5,
        ],
    )
    assert calls == [1001.0]  # when the phrase had played, not before
    assert [f.reason for f in down if isinstance(f, EndWorkerFrame)] == ["transfer"]


async def test_a_refused_hand_off_tells_the_caller_and_the_call_goes_on():
    from pipecat.frames.frames import BotStoppedSpeakingFrame

    clock = FakeClock()
    control = CallController(
        CallSettings(greeting=None), clock=clock, destinations=finder(desk="+15550003333")
    )

    async def hand_off_now() -> bool:
        await control.transfers.failed(offer_message=True)
        return False

    control.transfers.hand_off_now = hand_off_now
    down = await run_bounced(
        control,
        clock,
        [TransferCallFrame(destination="desk"), 5.0, BotStoppedSpeakingFrame()],
    )
    spoken = [f.text for f in down if isinstance(f, TTSSpeakFrame)]
    assert spoken == [
        "Connecting you now.",
        "Sorry, nobody could take your call right now. Can I take a message?",
    ]
    assert not [f for f in down if isinstance(f, EndWorkerFrame)]
    assert [f.reason for f in down if isinstance(f, OfferMessageFrame)] == ["transfer_failed"]
    assert control.hang_up_reason is None and control.transfers.request is None
    assert control.transfers.can_start("desk")  # a later transfer may try again


async def run_bounced(control, clock, steps) -> list:
    """control ! (speaking frames queued downstream turned upstream, as the pacer sends
    them) ! recorder, on the fake clock; the frames that came out downstream."""

    from pipecat.frames.frames import (
        BotStartedSpeakingFrame,
        BotStoppedSpeakingFrame,
    )
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

    from tests.processors.pacer_twilio import Recorder

    class Bounce(FrameProcessor):
        async def process_frame(self, frame, direction):
            await super().process_frame(frame, direction)
            kinds = (BotStartedSpeakingFrame, BotStoppedSpeakingFrame)
            if isinstance(frame, kinds) and direction == FrameDirection.DOWNSTREAM:
                direction = FrameDirection.UPSTREAM
            await self.push_frame(frame, direction)

    down = Recorder(clock)
    await run_steps(clock, [control, Bounce(), down], steps)
    return [frame for _, frame in down.frames]

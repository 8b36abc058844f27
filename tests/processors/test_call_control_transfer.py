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
from processors.frames import TransferCallFrame


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
    assert control.transfer is None


async def test_a_route_transfer_says_nothing_more():
    control = controller(finder(front_desk="+15550003333"))
    down, _ = await run_test(
        control, frames_to_send=[TransferCallFrame(destination="front_desk", via="route", say="")]
    )
    assert not [f for f in down if isinstance(f, TTSSpeakFrame)]
    assert [f.reason for f in down if isinstance(f, EndWorkerFrame)] == ["transfer"]
    assert control.transfer.via == "route"

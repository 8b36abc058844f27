"""The emulator's created calls and conferences (agent/sim/outbound.py, conference.py),
apart from a whole call (tests/e2e/test_warm_transfer.py plays them end to end)."""

import asyncio

import pytest

from agent.sim.conference import Conferences
from agent.sim.dial import TwiMLInvalid, check_twiml, find_dial
from agent.sim.outbound import Callee
from agent.twilio import twiml


def test_callee_answers_are_checked():
    with pytest.raises(ValueError, match="Callee.answer"):
        Callee("maybe")
    assert Callee().answer == "answer" and Callee("busy").answer == "busy"


def test_a_conference_dial_is_read_and_a_nameless_one_refused():
    dial = find_dial(check_twiml(twiml.conference("sb-room")))
    assert (dial.conference, dial.number) == ("sb-room", "")
    with pytest.raises(TwiMLInvalid, match="no name"):
        find_dial(check_twiml("<Response><Dial><Conference/></Dial></Response>"))


async def test_members_in_order_and_the_conference_ends_for_everyone():
    rooms = Conferences()
    first = asyncio.create_task(rooms.join("r", "CA1"))
    second = asyncio.create_task(rooms.join("r", "CA2"))
    assert await rooms.wait_members("r", 2, timeout=1)
    assert not first.done() and not second.done()
    rooms.end("r")
    await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert rooms.members == {"r": ["CA1", "CA2"]}
    assert not await rooms.wait_members("other", 1, timeout=0.05)

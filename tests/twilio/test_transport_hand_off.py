"""A transferred call's end in the transport: the hand-off (the REST update with the <Dial>)
runs before the socket closes, and replaces the hang-up; a failed or broken hand-off falls
back to the hang-up; a caller who already hung up gets neither."""

from __future__ import annotations

import pytest
from pipecat.frames.frames import EndFrame

from agent.twilio.serializer import TwilioSerializer
from agent.twilio.transport import TwilioTransport
from tests.twilio.test_serializer import RecordedHangUps
from tests.twilio.test_transport import START


class Bridge:
    def __init__(self, log: list):
        self.log = log
        self.is_open = True
        self.error_reason = None

    async def receive(self):
        return None

    def has_pending(self) -> bool:
        return False

    def send(self, payload) -> bool:
        return True

    async def close(self, *args, **kwargs) -> None:
        self.is_open = False
        self.log.append("closed")


def transport(log: list, hand_off) -> tuple[TwilioTransport, RecordedHangUps]:
    hang_ups = RecordedHangUps()
    t = TwilioTransport(Bridge(log), TwilioSerializer(START, hang_up=hang_ups))
    t.hand_off = hand_off
    return t, hang_ups


@pytest.mark.parametrize("outcome", ["ok", "refused", "broken"])
async def test_the_hand_off_runs_before_the_close_and_else_the_call_is_hung_up(outcome):
    log: list = []

    async def hand_off() -> bool:
        log.append("hand-off")
        if outcome == "broken":
            raise RuntimeError("bug")
        return outcome == "ok"

    t, hang_ups = transport(log, hand_off)
    await t.finish(EndFrame())
    assert log == ["hand-off", "closed"]
    assert hang_ups.requests == (0 if outcome == "ok" else 1)


async def test_no_hand_off_once_the_caller_hung_up():
    log: list = []

    async def hand_off() -> bool:
        log.append("hand-off")
        return True

    t, hang_ups = transport(log, hand_off)
    t.hung_up_by_caller = "stop"
    await t.finish(EndFrame())
    assert log == ["closed"] and hang_ups.requests == 0

"""The Twilio fake's TwiML updates and the emulator's reading of <Dial> (agent/sim/dial.py):
Twilio's error codes for bad TwiML, the action request's form, scripted ring outcomes."""

import aiohttp
import pytest

from agent.sim.dial import (
    DialOutcome,
    TwiMLInvalid,
    action_form,
    check_twiml,
    find_dial,
)


async def _update(fakes, call: str, body: str) -> tuple[int, dict]:
    url = f"{fakes.http_url}/2010-04-01/Accounts/AC1/Calls/{call}.json"
    auth = aiohttp.BasicAuth("AC1", "token")
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data={"Twiml": body}, auth=auth) as response,
    ):
        return response.status, await response.json()


class Live:
    def __init__(self):
        self.got = []

    def redirect(self, call_sid, body):
        self.got.append((call_sid, body))
        return call_sid == "CA1"


async def test_the_fake_parses_twiml_like_twilio(fakes):
    fakes.twilio.live_calls = live = Live()
    dial = '<Response><Dial action="https://x.test/a" timeout="9">+15550003333</Dial></Response>'
    status, body = await _update(fakes, "CA1", dial)
    assert status == 200 and body["sid"] == "CA1" and body["status"] == "in-progress"
    assert live.got == [("CA1", dial)]
    for bad in ("<Response><Dial>", "<Say>hi</Say>", "<Response><Dail/></Response>"):
        status, body = await _update(fakes, "CA1", bad)
        assert (status, body["code"]) == (400, 12100), bad
    status, body = await _update(fakes, "CA9", dial)  # no such live call
    assert (status, body["code"]) == (404, 20404)
    fakes.twilio.gone_calls.add("CA1")
    status, body = await _update(fakes, "CA1", dial)
    assert (status, body["code"]) == (400, 21220)
    assert len(live.got) == 2  # bad TwiML and ended calls never reach the call


def test_find_dial_reads_number_action_method_timeout_caller_id():
    root = check_twiml(
        '<Response><Dial action="https://x.test/a?b=1" method="get" timeout="9" '
        'callerId="+1555">+15550003333</Dial></Response>'
    )
    dial = find_dial(root)
    assert (dial.number, dial.action, dial.method, dial.timeout_s, dial.caller_id) == (
        "+15550003333",
        "https://x.test/a?b=1",
        "GET",
        9.0,
        "+1555",
    )
    assert (
        find_dial(check_twiml("<Response><Dial><Number>+1</Number></Dial></Response>")).number
        == "+1"
    )
    assert find_dial(check_twiml("<Response/>")) is None
    with pytest.raises(TwiMLInvalid):
        find_dial(check_twiml('<Response><Dial timeout="soon">+1</Dial></Response>'))


def test_ring_outcomes_and_the_action_form():
    assert DialOutcome("no-answer").ring_s(20) == 20  # rings out the <Dial timeout>
    assert DialOutcome("busy").ring_s(20) == 1.0
    assert DialOutcome("no-answer", after_s=0.5).ring_s(20) == 0.5
    with pytest.raises(ValueError):
        DialOutcome("answered")
    answered = action_form("AC1", "CA1", "+1a", "+1b", DialOutcome("completed", talk_s=7), "CA2")
    assert answered["DialCallStatus"] == "completed" and answered["DialCallDuration"] == "7"
    assert answered["CallSid"] == "CA1" and answered["DialCallSid"] == "CA2"
    missed = action_form("AC1", "CA1", "+1a", "+1b", DialOutcome("no-answer"), "CA2")
    assert missed["DialCallStatus"] == "no-answer" and "DialCallDuration" not in missed

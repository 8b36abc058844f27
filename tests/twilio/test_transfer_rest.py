"""A transfer's REST side: the <Dial> TwiML, and `CallResource.update(twiml=...)` with the real
client against the Twilio fake (retries like the hang-up, Twilio's errors for bad input)."""

import xml.etree.ElementTree as ET

from agent.twilio import twiml
from agent.twilio.rest import HANGUP_BACKOFF_S
from agent.twilio.rest_results import HangUpResult
from tests.twilio.test_rest import rest  # noqa: F401  (the fixture)

DIAL = twiml.dial("+15550003333", "https://h.test/dial-result?graph=r&destination=d", timeout_s=15)


class Live:
    """A stand-in for the emulator's live calls (fakes.twilio.live_calls)."""

    def __init__(self, *sids):
        self.sids = set(sids)
        self.redirected: list[tuple[str, str]] = []

    def redirect(self, call_sid: str, body: str) -> bool:
        if call_sid not in self.sids:
            return False
        self.redirected.append((call_sid, body))
        return True


def test_dial_twiml_has_the_number_action_timeout_and_caller_id():
    body = twiml.dial("+15550003333", "https://h.test/dial-result?a=1&b=2", caller_id="+1555000")
    dial = ET.fromstring(body).find("Dial")
    assert dial.text == "+15550003333"
    assert dial.attrib == {
        "action": "https://h.test/dial-result?a=1&b=2",
        "method": "POST",
        "timeout": "20",
        "callerId": "+1555000",
    }
    assert "callerId" not in ET.fromstring(DIAL).find("Dial").attrib
    assert twiml.end() == '<?xml version="1.0" encoding="UTF-8"?><Response />'


async def test_update_posts_the_twiml_and_the_fake_hands_it_to_the_live_call(fakes, rest):  # noqa: F811
    fakes.twilio.live_calls = live = Live("CA1")
    result = await rest().call("CA1").update(twiml=DIAL)
    assert result == HangUpResult("ok", 1) and result.ok
    [update] = fakes.twilio.twiml_updates
    assert (update.call_sid, update.form, update.auth_ok) == ("CA1", {"Twiml": DIAL}, True)
    assert live.redirected == [("CA1", DIAL)]
    assert not fakes.twilio.hung_up("CA1")


async def test_update_is_retried_like_the_hang_up(fakes, rest):  # noqa: F811
    fakes.twilio.live_calls = Live("CA1")
    fakes.twilio.fail_next = [503, 429]
    assert await rest().call("CA1").update(twiml=DIAL) == HangUpResult("ok", 3)
    assert rest.sleep.waits == list(HANGUP_BACKOFF_S[:2])


async def test_twilio_errors_for_bad_twiml_unknown_and_ended_calls(fakes, rest):  # noqa: F811
    fakes.twilio.live_calls = live = Live("CA1")
    client = rest()
    bad = await client.call("CA1").update(twiml="<Response><Dail>+1555</Dail></Response>")
    assert bad == HangUpResult("refused_400", 1)  # not retried
    assert await client.call("CA1").update(twiml="<Response><Dial/></Response>") == HangUpResult(
        "refused_400", 1
    )
    assert await client.call("CA404").update(twiml=DIAL) == HangUpResult("already_ended", 1)
    fakes.twilio.gone_calls.add("CA1")
    assert await client.call("CA1").update(twiml=DIAL) == HangUpResult("refused_400", 1)
    assert [h.status for h in fakes.twilio.twiml_updates] == [400, 400, 404, 400]
    assert live.redirected == []


async def test_update_with_a_refused_credential_is_not_retried(fakes, rest):  # noqa: F811
    fakes.twilio.expected_auth_token = "right"
    assert await rest(token="wrong").call("CA1").update(twiml=DIAL) == HangUpResult(
        "refused_401", 1
    )

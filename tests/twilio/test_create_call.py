"""Call creation (a warm transfer's call to the person): `TwilioRestClient.create_call` with
the real client against the Twilio fake — the form Twilio gets, Twilio's errors, retries
only where no call can have been made — and the conference TwiML both legs get."""

import xml.etree.ElementTree as ET

from agent.twilio import twiml
from agent.twilio.rest import HANGUP_BACKOFF_S
from agent.twilio.rest_results import HangUpResult
from tests.twilio.test_rest import rest  # noqa: F401  (the fixture)

LEG = twiml.connect_stream("wss://h.test/ws", {"warm": "t0k3n", "graph": "receptionist"})
STATUS = "https://h.test/warm-status?transfer=t0k3n"


class Outbound:
    """A stand-in for the emulator's created calls (fakes.twilio.outbound)."""

    def __init__(self):
        self.dialled: list[tuple[str, dict]] = []
        self.ended_calls: list[tuple[str, str]] = []

    def dial_out(self, call_sid, account_sid, form):
        self.dialled.append((call_sid, form))

    def ended(self, call_sid, status):
        self.ended_calls.append((call_sid, status))
        return True


async def test_create_call_posts_to_from_twiml_timeout_and_the_status_callback(fakes, rest):  # noqa: F811
    fakes.twilio.outbound = outbound = Outbound()
    result = await rest().create_call(
        "+15550003333", "+15550002222", twiml=LEG, timeout_s=20, status_callback=STATUS
    )
    assert result.created and result.status == "queued" and result.attempts == 1
    assert result.sid.startswith("CA") and len(result.sid) == 34
    [created] = fakes.twilio.created_calls
    assert created.call_sid == result.sid and created.account_sid == "AC1"
    assert created.form == {
        "To": ["+15550003333"],
        "From": ["+15550002222"],
        "Twiml": [LEG],
        "Timeout": ["20"],
        "StatusCallback": [STATUS],
        "StatusCallbackMethod": ["POST"],
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
    }
    assert [sid for sid, _ in outbound.dialled] == [result.sid]
    [request] = fakes.twilio.create_requests
    assert (request.username, request.auth_ok, request.status) == ("AC1", True, 201)


async def test_twilio_errors_for_missing_to_from_and_instructions(fakes, rest):  # noqa: F811
    client = rest()
    no_to = await client.create_call("", "+15550002222", twiml=LEG)
    no_from = await client.create_call("+15550003333", "", twiml=LEG)
    no_twiml = await client.create_call("+15550003333", "+15550002222", twiml="")
    bad_twiml = await client.create_call("+15550003333", "+15550002222", twiml="<Respons/>")
    assert [(r.created, r.http_status, r.code) for r in (no_to, no_from, no_twiml, bad_twiml)] == [
        (False, 400, 21201),
        (False, 400, 21213),
        (False, 400, 21205),
        (False, 400, 12100),
    ]
    assert "No 'To' number" in no_to.error
    assert all(r.attempts == 1 for r in (no_to, no_from, no_twiml, bad_twiml))  # not retried
    assert not fakes.twilio.created_calls


async def test_bad_credentials_get_twilios_401_and_are_not_retried(fakes, rest):  # noqa: F811
    fakes.twilio.expected_auth_token = "right"
    result = await rest(token="wrong").create_call("+15550003333", "+15550002222", twiml=LEG)
    assert (result.created, result.http_status, result.code, result.attempts) == (
        False,
        401,
        20003,
        1,
    )
    assert not fakes.twilio.created_calls


async def test_a_429_is_retried_a_5xx_is_not_never_two_calls(fakes, rest):  # noqa: F811
    fakes.twilio.fail_create = [429]
    client = rest()
    retried = await client.create_call("+15550003333", "+15550002222", twiml=LEG)
    assert retried.created and retried.attempts == 2
    assert rest.sleep.waits == [HANGUP_BACKOFF_S[0]]
    fakes.twilio.fail_create = [500]
    failed = await client.create_call("+15550003333", "+15550002222", twiml=LEG)
    assert (failed.created, failed.http_status, failed.attempts) == (False, 500, 1)
    assert len(fakes.twilio.created_calls) == 1  # the 429's retry made the only call


async def test_a_refused_connection_is_retried_and_reported(rest):  # noqa: F811
    from agent.twilio.rest import TwilioRestClient

    waits = []

    async def sleep(s):
        waits.append(s)

    client = TwilioRestClient("AC1", "tok", "http://127.0.0.1:9/", sleep=sleep)
    try:
        result = await client.create_call("+15550003333", "+15550002222", twiml=LEG)
    finally:
        await client.close()
    assert not result.created and result.attempts == len(HANGUP_BACKOFF_S) + 1
    assert "ClientConnectorError" in result.error and waits == list(HANGUP_BACKOFF_S)


async def test_no_credentials_no_request(fakes, rest):  # noqa: F811
    result = await rest(token=None).create_call("+15550003333", "+15550002222", twiml=LEG)
    assert not result.created and "credentials" in result.error
    assert not fakes.twilio.create_requests


async def test_cancel_posts_status_canceled_and_tells_the_emulator(fakes, rest):  # noqa: F811
    fakes.twilio.outbound = outbound = Outbound()
    assert await rest().call("CA9").cancel() == HangUpResult("ok", 1)
    [update] = fakes.twilio.hangups
    assert update.form == {"Status": "canceled"}
    assert outbound.ended_calls == [("CA9", "canceled")]


def test_conference_twiml_starts_on_enter_ends_on_exit_without_beep():
    body = twiml.conference("sb-room-1")
    room = ET.fromstring(body).find("Dial/Conference")
    assert room.text == "sb-room-1"
    assert room.attrib == {
        "startConferenceOnEnter": "true",
        "endConferenceOnExit": "true",
        "beep": "false",
    }
    with_callback = ET.fromstring(twiml.conference("r", status_callback="https://h.test/c?x=1"))
    attrs = with_callback.find("Dial/Conference").attrib
    assert attrs["statusCallback"] == "https://h.test/c?x=1"
    assert attrs["statusCallbackEvent"] == "start end join leave"

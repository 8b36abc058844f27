"""Asking Twilio whether a call was made: the real REST client's Calls list against the
Twilio fake, as recovery.py asks it for a contact left dialing."""

from datetime import UTC, datetime, timedelta

import pytest

from agent.campaigns.binding import TwilioCallLookup
from agent.campaigns.recovery import CallNow, LookupFailed
from agent.twilio.rest import TwilioRestClient
from tests.conftest import ACCOUNT_SID

TWIML = "<Response><Hangup/></Response>"


async def test_the_calls_to_a_number_since_a_day(fakes):
    client = TwilioRestClient(ACCOUNT_SID, "tok", fakes.http_url)
    try:
        made = await client.create_call("+15551110001", "+15550009999", twiml=TWIML)
        await client.create_call("+15551110002", "+15550009999", twiml=TWIML)
        lookup = TwilioCallLookup(client)
        today = datetime.now(UTC)
        found = await lookup.calls_to("+15551110001", today)
        assert [c.sid for c in found] == [made.sid]
        assert found[0].created_at is not None
        assert abs(found[0].created_at - today) < timedelta(minutes=1)
        assert await lookup.calls_to("+15551110003", today) == []
        assert await lookup.calls_to("+15551110001", today + timedelta(days=1)) == []
        request = fakes.twilio.requests[-1]
        assert request.method == "GET" and request.path.endswith("/Calls.json")
        assert request.form["To"] == "+15551110001" and "StartTime>" in request.form
    finally:
        await client.close()


async def test_a_list_that_cannot_be_read_is_a_lookup_failure(fakes):
    fakes.twilio.expected_auth_token = "right"
    wrong = TwilioRestClient(ACCOUNT_SID, "wrong", fakes.http_url)
    none = TwilioRestClient(None, None, fakes.http_url)
    try:
        with pytest.raises(LookupFailed, match="HTTP 401 code 20003"):
            await TwilioCallLookup(wrong).calls_to("+15551110001", datetime.now(UTC))
        with pytest.raises(LookupFailed, match="no Twilio credentials"):
            await TwilioCallLookup(none).calls_to("+15551110001", datetime.now(UTC))
    finally:
        await wrong.close()
        await none.close()


async def test_one_call_now_as_twilio_reports_it(fakes):
    """What the worker asks when a call's final status callback never came."""
    import asyncio

    from agent.sim.emulator import TwilioEmulator
    from agent.sim.outbound import Callee

    emulator = TwilioEmulator("http://127.0.0.1:9")  # no server: every callback is lost
    fakes.twilio.outbound = emulator
    emulator.callees = [Callee("no-answer", after_s=0.3)]
    client = TwilioRestClient(ACCOUNT_SID, "tok", fakes.http_url)
    try:
        made = await client.create_call("+15551110001", "+15550009999", twiml=TWIML, timeout_s=1)
        lookup = TwilioCallLookup(client)
        assert (await lookup.call_now(made.sid)).status in ("initiated", "ringing")
        await asyncio.wait_for(emulator.legs[0].done.wait(), 5)
        assert await lookup.call_now(made.sid) == CallNow("no-answer", 0.0, None)
        with pytest.raises(LookupFailed, match="HTTP 404 code 20404"):
            await lookup.call_now("CAgone")
    finally:
        await client.close()

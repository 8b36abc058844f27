"""TwilioRestClient.fetch_call against the Twilio fake over real HTTP: a created call's state
as the emulator plays it (ringing, then its final status with duration and AMD's verdict),
and each way the question can fail, said without raising."""

import asyncio

from agent.sim.emulator import TwilioEmulator
from agent.sim.outbound import Callee
from agent.twilio.rest import TwilioRestClient
from tests.conftest import ACCOUNT_SID

TWIML = "<Response><Hangup/></Response>"


async def test_a_created_call_ringing_then_its_final_status(fakes, client):
    emulator = TwilioEmulator("http://127.0.0.1:9")  # no server: no stream, no callbacks
    fakes.twilio.outbound = emulator
    emulator.callees = [Callee("busy", after_s=0.5)]
    made = await client.create_call("+15551110001", "+15550009999", twiml=TWIML)
    await asyncio.sleep(0.2)
    ringing = await client.fetch_call(made.sid)
    assert (ringing.ok, ringing.status, ringing.duration_s) == (True, "ringing", None)
    [leg] = emulator.legs
    await asyncio.wait_for(leg.done.wait(), 5)
    ended = await client.fetch_call(made.sid)
    assert (ended.ok, ended.status, ended.duration_s, ended.answered_by) == (
        True,
        "busy",
        0.0,
        None,
    )
    request = fakes.twilio.requests[-1]
    assert request.method == "GET" and request.path.endswith(f"/Calls/{made.sid}.json")


async def test_a_call_twilio_does_not_have_is_its_404(fakes, client):
    state = await client.fetch_call("CAnot-a-call")
    assert not state.ok and state.error == "HTTP 404 code 20404"


async def test_credentials_refused_or_missing(fakes, client):
    fakes.twilio.expected_auth_token = "right"
    refused = await client.fetch_call("CA" + "0" * 32)
    assert not refused.ok and refused.error == "HTTP 401 code 20003"
    none = TwilioRestClient(None, None, fakes.http_url)
    try:
        missing = await none.fetch_call("CA" + "0" * 32)
        assert not missing.ok and "no Twilio credentials" in missing.error
    finally:
        await none.close()


async def test_twilio_out_of_reach_is_said_not_raised():
    client = TwilioRestClient(ACCOUNT_SID, "tok", "http://127.0.0.1:9")
    try:
        state = await client.fetch_call("CA" + "0" * 32)
        assert not state.ok and state.error.startswith("ClientConnectorError")
        assert "tok" not in state.error
    finally:
        await client.close()

"""TwilioRestClient.send_message against the fake Messages resource (real client, real HTTP):
one attempt each, Twilio's error codes passed on, retryable only for 5xx, 429 and network."""

from __future__ import annotations

import pytest

from agent.twilio.rest import TwilioRestClient

OWNER, CALLED = "+15555550123", "+15555550199"


@pytest.fixture
async def client(fakes):
    made = TwilioRestClient("AC1", "tok-123456", fakes.env()["TWILIO_API_BASE_URL"])
    yield made
    await made.close()


async def test_sends_to_from_body_with_basic_auth(fakes, client):
    result = await client.send_message(OWNER, CALLED, "Message from Ann")
    assert result.sent and result.sid.startswith("SM") and len(result.sid) == 34
    assert result.http_status == 201
    [sent] = fakes.twilio.messages.sent
    assert (sent.account_sid, sent.to, sent.from_, sent.body, sent.sid) == (
        "AC1",
        OWNER,
        CALLED,
        "Message from Ann",
        result.sid,
    )
    [request] = fakes.twilio.messages.requests
    assert request.form == {"To": OWNER, "From": CALLED, "Body": "Message from Ann"}
    assert request.auth_ok


async def test_invalid_to_is_21211_and_final(fakes, client):
    result = await client.send_message("555-0123", CALLED, "hi")
    assert not result.sent and not result.retryable
    assert (result.http_status, result.code) == (400, 21211)
    assert "Invalid 'To' Phone Number" in result.error
    assert not fakes.twilio.messages.sent


async def test_from_not_a_number_of_the_account_is_21606(fakes, client):
    fakes.twilio.messages.sending_numbers = {"+15555550100"}
    result = await client.send_message(OWNER, CALLED, "hi")
    assert (result.http_status, result.code, result.retryable) == (400, 21606, False)
    assert (await client.send_message(OWNER, "+15555550100", "hi")).sent


async def test_wrong_credentials_are_401_20003(fakes, client):
    fakes.twilio.expected_auth_token = "another-token"
    result = await client.send_message(OWNER, CALLED, "hi")
    assert (result.http_status, result.code, result.retryable) == (401, 20003, False)
    assert not fakes.twilio.messages.requests[0].auth_ok


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_errors_and_429_are_retryable(fakes, client, status):
    fakes.twilio.messages.fail_next = [status]
    result = await client.send_message(OWNER, CALLED, "hi")
    assert not result.sent and result.retryable and result.http_status == status
    assert (await client.send_message(OWNER, CALLED, "hi")).sent  # one failure scripted


async def test_network_error_is_retryable_and_no_credentials_is_not():
    down = TwilioRestClient("AC1", "tok", "http://127.0.0.1:1")
    try:
        result = await down.send_message(OWNER, CALLED, "hi")
    finally:
        await down.close()
    assert not result.sent and result.retryable
    keyless = TwilioRestClient(None, None, "http://127.0.0.1:1")
    result = await keyless.send_message(OWNER, CALLED, "hi")
    assert not result.sent and not result.retryable and "credentials" in result.error


async def test_missing_fields_and_long_bodies_get_twilios_codes(fakes, client):
    assert (await client.send_message("", CALLED, "hi")).code == 21604
    assert (await client.send_message(OWNER, "", "hi")).code == 21603
    assert (await client.send_message(OWNER, CALLED, "")).code == 21602
    assert (await client.send_message(OWNER, CALLED, "x" * 1601)).code == 21617

"""The Twilio REST fake, driven by pipecat's TwilioFrameSerializer (auto hang-up)
and the twilio package's Client."""

import pytest
from pipecat.frames.frames import EndFrame
from pipecat.serializers.twilio import TwilioFrameSerializer
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from agent.sim.fakes import ProviderFakes

ACCOUNT = "AC" + "1" * 32
CALL = "CA" + "2" * 32


@pytest.fixture
async def fakes():
    async with ProviderFakes() as fakes:
        yield fakes


@pytest.fixture
async def twilio_client(fakes):
    """Makes twilio Clients pointed at the fake (and closes their HTTP sessions)."""
    clients = []

    def make(token: str = "auth-token") -> Client:
        client = Client(ACCOUNT, token, http_client=AsyncTwilioHttpClient())
        # The twilio package has no base-URL option, but each API domain keeps
        # its root in `base_url`; pointing it at the fake is all it takes.
        client.api.base_url = fakes.env()["TWILIO_API_BASE_URL"]
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.http_client.close()


async def test_pipecat_serializer_hangs_up_on_end_frame(fakes):
    serializer = TwilioFrameSerializer(
        stream_sid="MZ1",
        call_sid=CALL,
        account_sid=ACCOUNT,
        auth_token="auth-token",
        base_url=fakes.env()["TWILIO_API_BASE_URL"],
    )

    assert await serializer.serialize(EndFrame()) is None

    [hangup] = fakes.twilio.hangups
    assert (hangup.account_sid, hangup.call_sid) == (ACCOUNT, CALL)
    assert hangup.form == {"Status": "completed"} and hangup.auth_ok and hangup.status == 200
    assert fakes.twilio.hung_up(CALL) and CALL in fakes.twilio.gone_calls


async def test_twilio_client_updates_and_fetches(fakes, twilio_client):
    client = twilio_client()

    call = await client.calls(CALL).update_async(status="completed")
    account = await client.api.v2010.accounts(ACCOUNT).fetch_async()

    assert call.sid == CALL and call.status == "completed"
    assert account.sid == ACCOUNT and account.status == "active"
    assert fakes.twilio.hangup_count == 1
    assert [r.method for r in fakes.twilio.requests] == ["POST", "GET"]


async def test_gone_call_is_404_20404(fakes, twilio_client):
    fakes.twilio.gone_calls.add(CALL)
    with pytest.raises(TwilioRestException) as gone:
        await twilio_client().calls(CALL).update_async(status="completed")
    assert gone.value.status == 404 and gone.value.code == 20404
    assert fakes.twilio.hangups[0].status == 404 and not fakes.twilio.hung_up(CALL)


async def test_wrong_auth_token_is_401_20003(fakes, twilio_client):
    fakes.twilio.expected_auth_token = "right-token"
    with pytest.raises(TwilioRestException) as denied:
        await twilio_client(token="wrong").api.v2010.accounts(ACCOUNT).fetch_async()
    assert denied.value.status == 401 and denied.value.code == 20003

    account = await twilio_client(token="right-token").api.v2010.accounts(ACCOUNT).fetch_async()
    assert account.sid == ACCOUNT
    assert [r.auth_ok for r in fakes.twilio.requests] == [False, True]


async def test_provider_fakes_env_points_every_provider_at_one_port():
    async with ProviderFakes() as fakes:
        port = fakes.port
        assert port > 0 and fakes.env() == {
            "DEEPGRAM_BASE_URL": f"http://127.0.0.1:{port}",
            "GROQ_BASE_URL": f"http://127.0.0.1:{port}/openai/v1",
            "CARTESIA_BASE_URL": f"ws://127.0.0.1:{port}",
            "TWILIO_API_BASE_URL": f"http://127.0.0.1:{port}",
        }


async def test_twilio_client_sends_a_message_and_reads_its_errors(fakes, twilio_client):
    client = twilio_client()
    sent = await client.messages.create_async(
        to="+15555550123", from_="+15555550199", body="Message from Ann"
    )
    assert sent.sid.startswith("SM") and sent.status == "queued"
    assert (sent.to, sent.from_, sent.body) == ("+15555550123", "+15555550199", "Message from Ann")
    [stored] = fakes.twilio.messages.sent
    assert stored.sid == sent.sid and stored.account_sid == ACCOUNT

    with pytest.raises(TwilioRestException) as bad_to:
        await client.messages.create_async(to="12", from_="+15555550199", body="hi")
    assert bad_to.value.status == 400 and bad_to.value.code == 21211
    fakes.twilio.messages.fail_next = [503]
    with pytest.raises(TwilioRestException) as busy:
        await client.messages.create_async(to="+15555550123", from_="+15555550199", body="hi")
    assert busy.value.status == 503

"""agent/twilio/rest.py against the Twilio REST fake: hang-up retries, 20404, refused credentials,
pending requests at shutdown. Backoff waits go through an injected sleep (no wall clock)."""

import asyncio

import pytest

from agent.twilio.rest import HANGUP_BACKOFF_S, TwilioRestClient
from agent.twilio.rest_results import HangUpResult


class RecordedSleep:
    """An injected sleep: records each wait and returns at once."""

    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def rest(fakes):
    """Makes clients pointed at the fake (closed afterwards); `.sleep` records backoff waits."""
    clients = []
    sleep = RecordedSleep()

    def make(token: str | None = "tok-123456", account: str | None = "AC1") -> TwilioRestClient:
        client = TwilioRestClient(
            account, token, fakes.env()["TWILIO_API_BASE_URL"] + "/", sleep=sleep
        )
        clients.append(client)
        return client

    make.sleep = sleep
    yield make
    for client in clients:
        await client.close()


async def test_hang_up_posts_status_completed_with_basic_auth(fakes, rest):
    result = await rest().call("CA1").hang_up()
    assert result == HangUpResult("ok", 1)
    [hangup] = fakes.twilio.hangups
    assert (hangup.account_sid, hangup.call_sid, hangup.form, hangup.auth_ok) == (
        "AC1",
        "CA1",
        {"Status": "completed"},
        True,
    )
    assert fakes.twilio.requests[0].path == "/2010-04-01/Accounts/AC1/Calls/CA1.json"


async def test_a_call_already_ended_is_success_without_retry(fakes, rest):
    fakes.twilio.gone_calls.add("CA1")
    assert await rest().call("CA1").hang_up() == HangUpResult("already_ended", 1)
    assert [h.status for h in fakes.twilio.hangups] == [404]
    assert rest.sleep.waits == []


async def test_server_errors_and_429_are_retried_with_backoff(fakes, rest):
    fakes.twilio.fail_next = [500, 503, 429]
    assert await rest().call("CA1").hang_up() == HangUpResult("ok", 4)
    assert [h.status for h in fakes.twilio.hangups] == [500, 503, 429, 200]
    assert tuple(rest.sleep.waits) == HANGUP_BACKOFF_S


async def test_gives_up_after_four_tries_and_never_raises(fakes, rest):
    fakes.twilio.fail_next = [500] * 10
    assert await rest().call("CA1").hang_up() == HangUpResult("failed", 4)
    assert len(fakes.twilio.hangups) == 4


async def test_a_refused_credential_is_not_retried(fakes, rest):
    fakes.twilio.expected_auth_token = "the-right-token"
    assert await rest("a-wrong-token").call("CA1").hang_up() == HangUpResult("refused_401", 1)
    assert [h.status for h in fakes.twilio.hangups] == [401]


async def test_a_network_error_is_retried_then_fails(rest):
    client = TwilioRestClient("AC1", "tok", "http://127.0.0.1:1", sleep=rest.sleep)
    try:
        assert await client.call("CA1").hang_up() == HangUpResult("failed", 4)
    finally:
        await client.close()
    assert len(rest.sleep.waits) == 3


def test_no_resource_without_credentials(rest):
    assert rest(token=None).call("CA1") is None
    assert rest(account=None).call("CA1") is None
    # The process has no account SID: the call's own (from the stream's `start`) is used.
    assert rest(account=None).call("CA1", "AC9").account_sid == "AC9"
    assert rest().call("CA1", "AC9").account_sid == "AC1"


def test_repr_never_shows_the_token(rest):
    assert "tok-123456" not in repr(rest())


async def test_background_hang_ups_are_awaited_by_wait_for_pending(fakes, rest):
    client = rest()
    tasks = [client.call(sid).hang_up_in_background() for sid in ("CA1", "CA2")]
    assert await client.wait_for_pending(timeout=5.0) == 0
    assert [t.result().result for t in tasks] == ["ok", "ok"]
    assert {h.call_sid for h in fakes.twilio.hangups} == {"CA1", "CA2"}
    assert await client.wait_for_pending(timeout=5.0) == 0  # nothing left


async def test_wait_for_pending_says_how_many_are_still_running(rest):
    client = rest()
    release = asyncio.Event()
    client.track(asyncio.create_task(release.wait()))
    assert await client.wait_for_pending(timeout=0) == 1
    release.set()
    assert await client.wait_for_pending(timeout=1.0) == 0


async def test_close_cancels_what_is_in_flight(rest):
    client = rest()
    stuck = client.track(asyncio.create_task(asyncio.Event().wait()))
    await client.close()
    assert stuck.cancelled()

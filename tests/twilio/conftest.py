"""The REST client's tests share one client of the Twilio fake (its account, a token)."""

import pytest

from agent.twilio.rest import TwilioRestClient
from tests.conftest import ACCOUNT_SID


@pytest.fixture
async def client(fakes):
    client = TwilioRestClient(ACCOUNT_SID, "tok", fakes.http_url)
    yield client
    await client.close()

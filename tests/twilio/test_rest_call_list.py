"""TwilioRestClient.list_calls follows Twilio's paging (next_page_uri) against the Twilio
fake over real HTTP: until a call is found, to the end, or to its bound; a page that fails
fails the listing (what was not read is not known)."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from loguru import logger

from agent.twilio.rest import LIST_PAGE_SIZE, TwilioRestClient
from tests.conftest import ACCOUNT_SID

TWIML = "<Response><Hangup/></Response>"
TO = "+15551110001"


async def _calls(client, n: int, to: str = TO) -> list[str]:
    """`n` calls to `to`, oldest first (the list shows them newest first)."""
    return [(await client.create_call(to, "+15550009999", twiml=TWIML)).sid for _ in range(n)]


def _gets(fakes):
    return [q for q in fakes.twilio.requests if q.method == "GET"]


async def test_a_call_found_on_the_third_page(fakes, client):
    made = await _calls(client, 7)
    target = made[2]  # newest first, 2 a page: pages [6 5] [4 3] [2 1] [0]
    listing = await client.list_calls(
        to=TO,
        started_since=datetime.now(UTC).date(),
        page_size=2,
        until=lambda call: call["sid"] == target,
    )
    assert listing.ok and listing.pages == 3
    assert [c["sid"] for c in listing.calls] == made[:0:-1]  # through its page, no further
    gets = _gets(fakes)
    assert len(gets) == 3
    # Every page authenticated as the first, as the account; the later ones by token.
    assert all(q.auth_ok and q.username == ACCOUNT_SID for q in gets)
    assert [q.form.get("Page") for q in gets] == [None, "1", "2"]
    assert [q.form.get("PageToken") for q in gets] == [None, "PA" + made[5], "PA" + made[3]]
    assert all(q.form["To"] == TO and "StartTime>" in q.form for q in gets)  # filters kept
    assert all(urlsplit(q.path).path.endswith("/Calls.json") for q in gets)


async def test_every_page_read_when_nothing_stops_it(fakes, client):
    made = await _calls(client, 5)
    listing = await client.list_calls(
        to=TO, started_since=datetime.now(UTC).date(), page_size=2, until=lambda c: False
    )
    assert listing.ok and listing.pages == 3
    assert [c["sid"] for c in listing.calls] == made[::-1]
    assert _gets(fakes)[0].form["PageSize"] == "2"


async def test_the_page_bound_is_not_a_verdict(fakes, client):
    await _calls(client, 7)
    logged: list[str] = []
    sink = logger.add(lambda message: logged.append(str(message)), level="WARNING")
    try:
        listing = await client.list_calls(
            to=TO, started_since=datetime.now(UTC).date(), page_size=2, max_pages=3
        )
    finally:
        logger.remove(sink)
    assert not listing.ok and listing.pages == 3 and len(listing.calls) == 6
    assert "more than 3 pages of 2 calls" in listing.error
    [line] = [m for m in logged if "more than 3 pages" in m]  # stated in the log
    assert TO not in line  # the number masked, as logs show numbers
    assert len(_gets(fakes)) == 3  # the fourth page was not asked for


async def test_a_page_failing_midway_fails_the_listing(fakes, client):
    made = await _calls(client, 5)
    fakes.twilio.fail_list_pages = {1: 500}
    listing = await client.list_calls(
        to=TO,
        started_since=datetime.now(UTC).date(),
        page_size=2,
        until=lambda call: call["sid"] == made[0],
    )
    assert not listing.ok and listing.pages == 1
    assert listing.error == "page 2: HTTP 500 code 20500"
    assert [q.status for q in _gets(fakes)] == [200, 500]  # one attempt, no retry


async def test_a_refused_credential_on_the_first_page(fakes):
    fakes.twilio.expected_auth_token = "right"
    wrong = TwilioRestClient(ACCOUNT_SID, "wrong", fakes.http_url)
    try:
        listing = await wrong.list_calls(to=TO, started_since=datetime.now(UTC).date())
    finally:
        await wrong.close()
    assert not listing.ok and listing.error == "page 1: HTTP 401 code 20003"


async def test_the_default_page_size_is_sent(fakes, client):
    await client.list_calls(to=TO, started_since=datetime.now(UTC).date())
    assert _gets(fakes)[0].form["PageSize"] == str(LIST_PAGE_SIZE)


@pytest.mark.parametrize("next_uri", ["https://elsewhere.example/x.json", "//elsewhere/x"])
async def test_a_next_page_elsewhere_is_not_followed(next_uri):
    """Only a path on the API's host is followed: the credentials go nowhere else."""
    asked = []

    async def calls(request: web.Request) -> web.Response:
        asked.append(request.path_qs)
        return web.json_response({"calls": [], "page": 0, "next_page_uri": next_uri})

    app = web.Application()
    app.router.add_get("/2010-04-01/Accounts/{account}/Calls.json", calls)
    async with TestServer(app, host="127.0.0.1") as server:
        client = TwilioRestClient(ACCOUNT_SID, "tok", str(server.make_url("")))
        try:
            listing = await client.list_calls(to=TO, started_since=datetime.now(UTC).date())
        finally:
            await client.close()
    assert not listing.ok and "unexpected next_page_uri" in listing.error
    assert len(asked) == 1

"""The Twilio fake pages its Calls list as Twilio does: PageSize (at most 1000),
next_page_uri relative to the API's host with Page and PageToken, null on the last page;
read raw over HTTP and by the twilio package's own pager."""

from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from agent.sim.fakes import ProviderFakes

ACCOUNT = "AC" + "1" * 32
TWIML = "<Response><Hangup/></Response>"
TO = "+15551230001"


@pytest.fixture
async def fakes():
    async with ProviderFakes() as fakes:
        yield fakes


async def _make_calls(fakes, session, n: int, to: str = TO) -> list[str]:
    url = f"{fakes.http_url}/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    auth = aiohttp.BasicAuth(ACCOUNT, "tok")
    sids = []
    for _ in range(n):
        form = {"To": to, "From": "+15550009999", "Twiml": TWIML}
        async with session.post(url, data=form, auth=auth) as r:
            assert r.status == 201
            sids.append((await r.json())["sid"])
    return sids


async def test_pages_follow_next_page_uri_to_the_end(fakes):
    async with aiohttp.ClientSession() as session:
        made = await _make_calls(fakes, session, 5)
        await _make_calls(fakes, session, 2, to="+15551230002")  # filtered out
        auth = aiohttp.BasicAuth(ACCOUNT, "tok")
        uri = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json?To=%2B15551230001&PageSize=2"
        pages = []
        while uri is not None:
            assert uri.startswith("/2010-04-01/")  # relative to the API's host
            async with session.get(fakes.http_url + uri, auth=auth) as r:
                assert r.status == 200
                body = await r.json()
            pages.append(body)
            uri = body["next_page_uri"]
    assert [len(p["calls"]) for p in pages] == [2, 2, 1]
    assert [c["sid"] for p in pages for c in p["calls"]] == made[::-1]  # newest first
    assert [(p["page"], p["page_size"], p["start"], p["end"]) for p in pages] == [
        (0, 2, 0, 1),
        (1, 2, 2, 3),
        (2, 2, 4, 4),
    ]
    second = parse_qs(urlsplit(pages[0]["next_page_uri"]).query)
    assert second["To"] == [TO] and second["PageSize"] == ["2"] and second["Page"] == ["1"]
    assert second["PageToken"] == ["PA" + made[-2]]  # after the first page's last call
    assert pages[0]["previous_page_uri"] is None
    assert parse_qs(urlsplit(pages[1]["previous_page_uri"]).query)["Page"] == ["0"]
    assert parse_qs(urlsplit(pages[2]["first_page_uri"]).query)["Page"] == ["0"]
    assert pages[-1]["next_page_uri"] is None


async def test_a_page_token_survives_newer_calls(fakes):
    """The next page starts after the last call read, though newer calls arrived since."""
    async with aiohttp.ClientSession() as session:
        made = await _make_calls(fakes, session, 3)
        auth = aiohttp.BasicAuth(ACCOUNT, "tok")
        first = f"{fakes.http_url}/2010-04-01/Accounts/{ACCOUNT}/Calls.json?PageSize=2"
        async with session.get(first, auth=auth) as r:
            body = await r.json()
        await _make_calls(fakes, session, 2)  # newer: at the list's head
        async with session.get(fakes.http_url + body["next_page_uri"], auth=auth) as r:
            rest = await r.json()
    assert [c["sid"] for c in rest["calls"]] == [made[0]]


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("PageSize=1001", 400, 20007),  # Twilio's maximum is 1000
        ("PageSize=0", 400, 20001),
        ("PageSize=ten", 400, 20001),
        ("PageSize=2&Page=1&PageToken=PAnope", 400, 20001),
    ],
)
async def test_paging_parameters_twilio_refuses(fakes, query, status, code):
    url = f"{fakes.http_url}/2010-04-01/Accounts/{ACCOUNT}/Calls.json?{query}"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, auth=aiohttp.BasicAuth(ACCOUNT, "tok")) as r:
            assert (r.status, (await r.json())["code"]) == (status, code)


async def test_a_thousand_per_page_and_later_pages_need_credentials(fakes):
    async with aiohttp.ClientSession() as session:
        await _make_calls(fakes, session, 3)
        fakes.twilio.expected_auth_token = "right"
        base = f"{fakes.http_url}/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
        right = aiohttp.BasicAuth(ACCOUNT, "right")
        async with session.get(base + "?PageSize=1000", auth=right) as r:
            assert r.status == 200 and (await r.json())["next_page_uri"] is None
        async with session.get(base + "?PageSize=1", auth=right) as r:
            nxt = (await r.json())["next_page_uri"]
        async with session.get(fakes.http_url + nxt) as r:  # no credentials
            assert (r.status, (await r.json())["code"]) == (401, 20003)
        async with session.get(fakes.http_url + nxt, auth=right) as r:
            assert r.status == 200 and len((await r.json())["calls"]) == 1


async def test_an_injected_failure_hits_one_page_once(fakes):
    fakes.twilio.fail_list_pages = {1: 500}
    async with aiohttp.ClientSession() as session:
        await _make_calls(fakes, session, 3)
        auth = aiohttp.BasicAuth(ACCOUNT, "tok")
        base = f"{fakes.http_url}/2010-04-01/Accounts/{ACCOUNT}/Calls.json?PageSize=2"
        async with session.get(base, auth=auth) as r:
            assert r.status == 200
            nxt = fakes.http_url + (await r.json())["next_page_uri"]
        async with session.get(nxt, auth=auth) as r:
            assert (r.status, (await r.json())["code"]) == (500, 20500)
        async with session.get(nxt, auth=auth) as r:
            assert r.status == 200
    assert [q.status for q in fakes.twilio.requests if q.method == "GET"] == [200, 500, 200]


async def test_the_twilio_package_pages_through_the_fake(fakes):
    """Twilio's own SDK follows the fake's next_page_uri (its domain's base URL + the URI)."""
    async with aiohttp.ClientSession() as session:
        made = await _make_calls(fakes, session, 5)
    client = Client(ACCOUNT, "tok", http_client=AsyncTwilioHttpClient())
    client.api.base_url = fakes.env()["TWILIO_API_BASE_URL"]
    try:
        calls = await client.calls.list_async(to=TO, page_size=2)
    finally:
        await client.http_client.close()
    assert [c.sid for c in calls] == made[::-1]
    gets = [q for q in fakes.twilio.requests if q.method == "GET"]
    assert len(gets) == 3 and all(q.auth_ok for q in gets)
    assert [q.form.get("PageToken") for q in gets] == [None, "PA" + made[3], "PA" + made[1]]

"""Recovery of a contact left `dialing` asks Twilio's whole Calls list, page after page
(the real REST client against the Twilio fake, the real records database): a verdict
only from every page up to the call or the end; a page not read is `unknown`, never
"no call was made" (which would call the person twice)."""

from datetime import UTC, datetime, timedelta

import pytest

from agent.campaigns import claims, recovery
from agent.campaigns import states as s
from agent.campaigns.binding import TwilioCallLookup
from agent.campaigns.contacts_csv import Contact
from agent.campaigns.store import contact_rows, create_campaign
from agent.records.store import Store
from agent.twilio.rest import TwilioRestClient
from tests.campaigns.fakes import reminder_settings
from tests.conftest import ACCOUNT_SID

NUMBER = "+15550000001"
TWIML = "<Response><Hangup/></Response>"
DEAD = "deadhost:999999:aa"  # another host, its heartbeat stale


@pytest.fixture
async def store(database_url):
    store = await Store.open(database_url)
    yield store
    await store.close()


@pytest.fixture
async def twilio(fakes):
    client = TwilioRestClient(ACCOUNT_SID, "tok", fakes.http_url)
    yield client
    await client.close()


async def _left_dialing(store) -> tuple[str, datetime]:
    """A campaign whose one contact a dead worker claimed (`dialing`, no sid) just now."""
    settings = reminder_settings()
    claimed_at = datetime.now(UTC)
    cid = await create_campaign(store.engine, settings, [Contact(2, NUMBER)], claimed_at)
    assert (await claims.claim(store.engine, cid, DEAD, claimed_at)).number == NUMBER
    return cid, claimed_at


async def _earlier_calls(fakes, twilio, n: int, before: datetime) -> None:
    """`n` calls to the number earlier (before the claim, its slack too): other attempts."""
    for i in range(n):
        made = await twilio.create_call(NUMBER, "+15550009999", twiml=TWIML)
        assert made.created
        [call] = [c for c in fakes.twilio.created_calls if c.call_sid == made.sid]
        call.created = before - timedelta(seconds=recovery.CLOCK_SLACK_S + 1 + i)


async def _recover(store, cid, claimed_at, lookup):
    later = claimed_at + timedelta(seconds=recovery.STALE_S + 1)
    found = await recovery.recover(store.engine, cid, "me:1:bb", later, lookup)
    [row] = await contact_rows(store.engine, cid)
    return found, row


async def test_no_call_on_any_page_puts_the_contact_back(store, fakes, twilio):
    cid, claimed_at = await _left_dialing(store)
    await _earlier_calls(fakes, twilio, 5, claimed_at)  # 3 pages of 2
    lookup = TwilioCallLookup(twilio, page_size=2, max_pages=3)
    found, row = await _recover(store, cid, claimed_at, lookup)
    assert found.requeued == 1 and (row["state"], row["attempts"]) == (s.PENDING, 0)
    gets = [q for q in fakes.twilio.requests if q.method == "GET"]
    assert len(gets) == 3 and all(q.auth_ok for q in gets)  # the whole list was read


async def test_the_call_made_is_found_among_pages_of_earlier_ones(store, fakes, twilio):
    cid, claimed_at = await _left_dialing(store)
    await _earlier_calls(fakes, twilio, 5, claimed_at)
    made = await twilio.create_call(NUMBER, "+15550009999", twiml=TWIML)  # the dead one's
    lookup = TwilioCallLookup(twilio, page_size=2, max_pages=3)
    found, row = await _recover(store, cid, claimed_at, lookup)
    assert found.found == 1 and (row["state"], row["call_sid"]) == (s.CALLING, made.sid)
    assert len([q for q in fakes.twilio.requests if q.method == "GET"]) == 1  # found: done


@pytest.mark.parametrize(
    ("max_pages", "fail", "why"),
    [
        (2, {}, "more than 2 pages of 2 calls"),  # the bound: page 3 never read
        (3, {1: 500}, "page 2: HTTP 500 code 20500"),  # a page that fails mid-way
    ],
)
async def test_a_page_not_read_leaves_the_contact_unknown(
    store, fakes, twilio, max_pages, fail, why
):
    cid, claimed_at = await _left_dialing(store)
    await _earlier_calls(fakes, twilio, 5, claimed_at)
    fakes.twilio.fail_list_pages = dict(fail)
    lookup = TwilioCallLookup(twilio, page_size=2, max_pages=max_pages)
    found, row = await _recover(store, cid, claimed_at, lookup)
    assert found.unknown == 1 and found.requeued == 0
    assert (row["state"], row["attempts"]) == (s.UNKNOWN, 1)  # never redialled on a guess
    assert why in row["detail"]

"""The dashboard's pages from a seeded records store (no call): History's filters, paging
and CSV, a call's transcript (heard and cut words, answer sources, latency bars, escaping),
Health's charts."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

from agent.dashboard import history
from tests.dashboard.conftest import HEARD, LONG, TOKEN, seeded_events


async def _seeded(start_server, client_for):
    server = await start_server(ADMIN_TOKEN=TOKEN)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    await server.services.records.store.apply(seeded_events(now))
    user = client_for(server)
    await user.login()
    return now, user


async def test_pages_from_a_seeded_store(start_server, client_for, monkeypatch):
    """One server (starting one costs seconds): each page's checks in turn."""
    now, user = await _seeded(start_server, client_for)
    await _history_filters_pages_and_exports_csv(user, monkeypatch)
    # Days: `since` from its start, `until` through its end.
    # `before`: the day before every seeded call (one starts two hours before `now`, which
    # is yesterday in the first hours after midnight UTC).
    day = now.date().isoformat()
    before = ((now - timedelta(hours=3)).date() - timedelta(days=1)).isoformat()
    _, _, page = await user.get(f"/dashboard/history?since={day}&until={day}")
    assert "CAaaaa0001" in page
    _, _, page = await user.get(f"/dashboard/history?until={before}")
    assert "CAaaaa0001" not in page and "No calls match." in page
    await _a_call_shows_heard_and_cut_words_sources_latency_and_escapes(user)
    await _health_draws_calls_latency_and_failures(user)
    # The records API takes the same filters.
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    status, _, body = await user.get("/calls?failure=llm&field=name&value=ADA", headers=bearer)
    assert status == 200 and json.loads(body)["total"] == 1 and "CAaaaa0001" in body


async def _history_filters_pages_and_exports_csv(user, monkeypatch):
    status, _, page = await user.get("/dashboard/history")
    assert status == 200 and page.count('href="/dashboard/calls/CA') == 3
    _, _, page = await user.get("/dashboard/history?number=9998")
    assert "CAbbbb0002" in page and "CAaaaa0001" not in page
    _, _, page = await user.get("/dashboard/history?failure=llm")
    assert "CAaaaa0001" in page and "CAbbbb0002" not in page
    _, _, page = await user.get("/dashboard/history?field=name&value=ada")
    assert "CAaaaa0001" in page and "CAbbbb0002" not in page
    _, _, page = await user.get("/dashboard/history?outcome=agent_hung_up&graph=receptionist")
    assert "CAbbbb0002" in page and "CAaaaa0001" not in page
    status, _, page = await user.get("/dashboard/history?since=yesterday")
    assert status == 200 and 'role="alert"' in page  # said on the page, not a crash

    monkeypatch.setattr(history, "PAGE_SIZE", 2)
    _, _, first = await user.get("/dashboard/history")
    assert "Page 1 of 2" in first and first.count('href="/dashboard/calls/CA') == 2
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    _, _, second = await user.get(older)
    assert "Page 2 of 2" in second and "CAbbbb0002" in second

    status, headers, body = await user.get("/dashboard/history.csv?number=555")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["call_sid"] for r in rows] == ["CAcccc0003", "CAaaaa0001", "CAbbbb0002"]
    assert rows[0]["from"] == "'=HYPERLINK(1)"  # a formula is never run by a spreadsheet
    assert rows[1]["from"] == "+15550001111"  # a phone number stays as it is
    assert "Ada Lovelace" in rows[1]["extraction"]


async def _a_call_shows_heard_and_cut_words_sources_latency_and_escapes(user):
    status, _, page = await user.get("/dashboard/calls/CAaaaa0001")
    assert status == 200
    assert f'<span class="heard">{HEARD}</span> <del class="unheard"' in page
    assert LONG[len(HEARD) :] in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    for source in ("llm", "route", "fallback"):
        assert f'class="src {source}"' in page
    assert "llm:timeout" in page and "Ada Lovelace" in page
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" class="latency-bar"', page)]
    assert widths == [53.3, 25.8, 100.0]  # 640, 310, 1200 ms against the longest
    assert "This call was not recorded." in page
    status, _, page = await user.get("/dashboard/calls/CAnosuch")
    assert status == 404 and "No such call" in page


async def _health_draws_calls_latency_and_failures(user):
    status, _, page = await user.get("/dashboard/health")
    assert status == 200
    assert page.count('<svg class="chart"') == 3
    assert "deepgram" not in page and "groq (llm) timeout" in page
    assert re.search(r'<span class="value">3</span><span class="label">calls', page)
    assert re.search(r'<span class="value">640</span><span class="label">p50', page)
    assert re.search(r'<span class="value">1200</span><span class="label">p95', page)

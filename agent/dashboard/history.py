"""History: past calls searched and filtered, a page at a time, and the same list as CSV.

    GET /dashboard/history?since=&until=&number=&graph=&outcome=&failure=&field=&value=&page=
    GET /dashboard/history.csv?<the same filters>     (401 logged out; at most CSV_MAX rows)

Dates are days (YYYY-MM-DD, UTC; `until` inclusive) or ISO times; a bad one is said on the
page, not a crash. The filters run in the store (agent/records/queries.py), on both SQLite
and Postgres.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from agent.app.services import SERVICES
from agent.dashboard.auth import require_feed, require_page
from agent.dashboard.pages import records_or_503
from agent.dashboard.render import render, security_headers
from agent.records.timestamps import parse_time

PAGE_SIZE = 25
CSV_MAX = 10_000
CSV_BATCH = 500
FILTERS = ("since", "until", "number", "graph", "outcome", "failure", "field", "value")
OUTCOMES = (
    "caller_hung_up",
    "agent_hung_up",
    "transferred",
    "transfer_failed",
    "timeout",
    "drained",
    "ended_by_operator",
    "error",
)
FAILURES = ("any", "stt", "llm", "tts")
CSV_COLUMNS = (
    "call_sid",
    "started_at",
    "ended_at",
    "duration_s",
    "graph",
    "from",
    "to",
    "outcome",
    "turn_count",
    "extraction",
)


@dataclass
class Query:
    values: dict[str, str]
    store_args: dict
    error: str = ""


def parse_query(request: web.Request) -> Query:
    values = {name: request.query.get(name, "").strip() for name in FILTERS}
    args: dict = {
        name: values[name] or None for name in ("number", "graph", "outcome", "failure", "field")
    }
    args["value"] = values["value"] or None
    error = ""
    for name in ("since", "until"):
        raw = values[name]
        if not raw:
            continue
        try:
            moment = parse_time(raw, name)
        except ValueError as exc:
            error = str(exc)
            continue
        if name == "until" and len(raw) == 10:  # a whole day: up to its end
            moment += timedelta(days=1)
        args[name] = moment
    return Query(values, args, error)


def _page_number(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


async def history(request: web.Request) -> web.Response:
    session = require_page(request)
    runtime = records_or_503(request)
    query = parse_query(request)
    page = _page_number(request)
    calls, total = [], 0
    if not query.error:
        calls, total = await runtime.store.list_calls(
            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **query.store_args
        )
    pages = max(1, -(-total // PAGE_SIZE))
    filters = {k: v for k, v in query.values.items() if v}
    context = {
        "calls": calls,
        "total": total,
        "page_no": page,
        "pages": pages,
        "query": query.values,
        "error": query.error,
        "graphs": sorted(request.app[SERVICES].graphs),
        "outcomes": OUTCOMES,
        "failures": FAILURES,
        "prev_url": _url(filters, page - 1) if page > 1 else None,
        "next_url": _url(filters, page + 1) if page < pages else None,
        "csv_url": "/dashboard/history.csv" + (f"?{urlencode(filters)}" if filters else ""),
    }
    return render(request, "history.html", context, session=session, page="history")


def _url(filters: dict, page: int) -> str:
    return "/dashboard/history?" + urlencode({**filters, "page": page})


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP: CSV injection)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in "+-" and not text[1:2].isdigit()):
        return "'" + text
    return text


async def history_csv(request: web.Request) -> web.StreamResponse:
    require_feed(request)
    runtime = records_or_503(request)
    query = parse_query(request)
    if query.error:
        raise web.HTTPBadRequest(text=query.error)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="calls-{stamp}.csv"',
        }
    )
    security_headers(response)
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    offset = 0
    while offset < CSV_MAX:
        calls, total = await runtime.store.list_calls(
            limit=CSV_BATCH, offset=offset, **query.store_args
        )
        for call in calls:
            row = {
                **call,
                "extraction": json.dumps(call["extraction"]) if call["extraction"] else "",
            }
            writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
        await response.write(buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()
        offset += len(calls)
        if not calls or offset >= total:
            break
    await response.write_eof()
    return response

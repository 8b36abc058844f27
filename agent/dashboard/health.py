"""Health: calls per hour, the agent's answer latency p50/p95 per hour, failed turns by
provider, for the last day (or `?hours=` up to a week), from the records store, drawn as
SVG on the server (agent/dashboard/charts.py).

    GET /dashboard/health?hours=24
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from agent.app.services import SERVICES
from agent.dashboard import charts
from agent.dashboard.auth import require_page
from agent.dashboard.pages import records_or_503
from agent.dashboard.render import render
from agent.graph import Graph
from agent.records.stats import health as read_health
from agent.records.stats import percentile

WINDOWS = (6, 24, 72, 168)


def provider_of(graph: Graph | None, stage: str) -> str:
    """The provider behind a failed stage in this graph: its node type's first word
    (deepgram_stt -> deepgram); the stage when the graph is gone or has none."""
    if graph is not None:
        for node in graph.nodes.values():
            if node.type.name.endswith(f"_{stage}"):
                return node.type.name.split("_")[0]
    return stage


async def health_page(request: web.Request) -> web.Response:
    session = require_page(request)
    runtime = records_or_503(request)
    try:
        hours = int(request.query.get("hours", "24"))
    except ValueError:
        hours = 24
    hours = hours if hours in WINDOWS else 24
    until = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    stats = await read_health(runtime.store, until - timedelta(hours=hours), until)
    labels = [h.hour.strftime("%H:00") for h in stats.hours]
    graphs = request.app[SERVICES].graphs
    by_provider: dict[str, int] = {}
    for (graph, stage, reason), count in stats.failures.items():
        name = f"{provider_of(graphs.get(graph), stage)} ({stage}) {reason}".strip()
        by_provider[name] = by_provider.get(name, 0) + count
    all_latencies = [v for h in stats.hours for v in h.latencies]
    context = {
        "hours": hours,
        "windows": WINDOWS,
        "stats": stats,
        "p50": percentile(all_latencies, 0.5),
        "p95": percentile(all_latencies, 0.95),
        "answers": len(all_latencies),
        "calls_chart": charts.bars([h.calls for h in stats.hours], labels, "calls per hour"),
        "latency_chart": charts.lines(
            {
                "p50": [h.percentile(0.5) for h in stats.hours],
                "p95": [h.percentile(0.95) for h in stats.hours],
            },
            labels,
            "answer latency per hour",
            " ms",
        ),
        "failures_chart": charts.hbars(
            sorted(by_provider.items(), key=lambda item: -item[1]), "failed turns by provider"
        ),
        "outcomes": sorted(stats.outcomes.items(), key=lambda item: -item[1]),
    }
    return render(request, "health.html", context, session=session, page="health")

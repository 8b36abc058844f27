"""The real parts a campaign worker runs with, from the configuration.

    open_store(config) -> Store          DATABASE_URL, migrated
    bound(config, store, graph) -> WorkerDeps   (an async context manager: closes the
        Twilio client at the end) the outbound placer over Twilio's REST API
        (agent/outbound/twilio_placer.py), the outcomes and the do-not-call list from the
        records database, MAX_CALLS x WEB_CONCURRENCY as the capacity, Twilio's Calls list
        as the lookup of recovery.py, the system's wall clock

The worker is not the server: Twilio's callbacks (/status, /amd) and the call's stream go to
the server at PUBLIC_HOST, which writes the outcome to the same database; the worker reads
it there. So PUBLIC_HOST and DATABASE_URL must name the server's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from email.utils import parsedate_to_datetime

from agent.campaigns.capacity import RecordsCapacity
from agent.campaigns.recovery import CallNow, FoundCall, LookupFailed
from agent.campaigns.worker import WorkerDeps
from agent.config import Config
from agent.errors import ConfigError
from agent.graph.hours import SYSTEM_WALL_CLOCK
from agent.graph.loader import load_graphs
from agent.outbound.twilio_placer import TwilioCallPlacer
from agent.records.dnc import DncList
from agent.records.outbound_store import OutboundRecords
from agent.records.store import Store
from agent.twilio.rest import TwilioRestClient


async def open_store(config: Config) -> Store:
    return await Store.open(
        config.database_url.reveal(), connect_timeout_s=config.database_wait_seconds
    )


class TwilioCallLookup:
    """recovery.CallLookup over Twilio's Calls list: its pages are read until one holds a
    call created since `since`, or they end; a page that fails, or more pages than the
    client reads (rest.py: LIST_MAX_PAGES), is a LookupFailed: never a verdict from part of
    the list."""

    def __init__(self, twilio: TwilioRestClient, **paging: int):
        self.twilio = twilio
        self.paging = paging  # page_size, max_pages (tests: small pages)

    async def calls_to(self, number: str, since: datetime) -> list[FoundCall]:
        def made_since(call: dict) -> bool:
            created = _rfc2822(call)
            return created is not None and created >= since

        listing = await self.twilio.list_calls(
            to=number, started_since=since.date(), until=made_since, **self.paging
        )
        if not listing.ok:
            raise LookupFailed(listing.error)
        return [
            FoundCall(str(c.get("sid")), str(c.get("status") or ""), _rfc2822(c))
            for c in listing.calls
            if c.get("sid")
        ]

    async def call_now(self, call_sid: str) -> CallNow:
        state = await self.twilio.fetch_call(call_sid)
        if not state.ok:
            raise LookupFailed(state.error)
        return CallNow(state.status, state.duration_s, state.answered_by)


def _rfc2822(call: dict) -> datetime | None:
    raw = call.get("date_created") or call.get("start_time")
    try:
        return parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError):
        return None


def public_base(config: Config) -> str:
    if not config.public_host:
        raise ConfigError(
            "PUBLIC_HOST must be set: Twilio reaches the server's /ws and /status there"
        )
    host = config.public_host
    return host if host.startswith(("http://", "https://")) else f"https://{host}"


@asynccontextmanager
async def bound(config: Config, store: Store, graph: str) -> AsyncIterator[WorkerDeps]:
    """The worker's parts (module docstring); ConfigError when the graph is unknown."""
    graphs = load_graphs(config.graphs_dir, config)
    if graph not in graphs:
        raise ConfigError(
            f"unknown graph {graph!r} in {config.graphs_dir}: {', '.join(sorted(graphs))}"
        )
    token = config.twilio_auth_token.reveal() if config.twilio_auth_token else None
    twilio = TwilioRestClient(config.twilio_account_sid, token, config.twilio_api_base_url)
    engine = store.engine
    dnc = DncList(engine)
    records = OutboundRecords(engine)
    placer = TwilioCallPlacer(
        twilio, {graph: graphs[graph]}, dnc, records, public_base(config), config.from_number
    )
    limit = config.max_calls * config.web_concurrency
    try:
        yield WorkerDeps(
            engine=engine,
            placer=placer,
            outcomes=records,
            dnc=dnc,
            capacity=RecordsCapacity(engine, limit, SYSTEM_WALL_CLOCK),
            lookup=TwilioCallLookup(twilio) if token else None,
            clock=SYSTEM_WALL_CLOCK,
            sleep=asyncio.sleep,
        )
    finally:
        await twilio.close()

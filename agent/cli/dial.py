"""`python -m agent dial NUMBER --graph G [--var NAME=VALUE ...] [--from NUMBER]`: one
outbound call, created over Twilio's REST API (agent/outbound/twilio_placer.py).

The call's stream, status callback (/status) and AMD callback (/amd) go to the server Twilio
reaches at PUBLIC_HOST (or `--public-url`, e.g. a tunnel's https URL): that server must be
running; this command only places the call and writes its record in DATABASE_URL. Refused
before anything is called, with one line saying why (exit 1): a number on the do-not-call
list, a missing required variable or one the graph does not declare (each named), an unknown
graph, a number not in E.164, no caller ID (FROM_NUMBER or --from), no room: as many calls
in progress as MAX_CALLS x WEB_CONCURRENCY, counted in the call records as a campaign counts
them (agent/campaigns/capacity.py); Twilio's own refusal with its code. `--wait` waits for the call's final status and prints who answered.
The variables are personal data: they travel to Twilio in the request body only, and are
neither printed nor logged.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from agent.campaigns.capacity import RecordsCapacity
from agent.cli.common import load_config
from agent.config import Config
from agent.errors import ConfigError, DatabaseUnreachable, GraphError
from agent.graph import load_named_graph
from agent.graph.hours import SYSTEM_WALL_CLOCK
from agent.logging_setup import phone_hint
from agent.outbound.placing import DialRefused, DialRequest
from agent.outbound.twilio_placer import TwilioCallPlacer
from agent.records.dnc import DncList
from agent.records.outbound_store import OutboundRecords
from agent.records.store import Store
from agent.twilio.rest import TwilioRestClient

WAIT_POLL_S = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("to", help="the number to call, E.164 (+15551234567)")
    parser.add_argument("--graph", required=True, help="the graph the call runs (e.g. reminder)")
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a call variable the graph declares (repeat for each)",
    )
    parser.add_argument("--from", dest="from_number", help="caller ID (default: FROM_NUMBER)")
    parser.add_argument("--tag", help="an opaque label kept on the call's record")
    parser.add_argument(
        "--public-url",
        help="the server's URL as Twilio reaches it (default: https://PUBLIC_HOST)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        nargs="?",
        const=600.0,
        default=None,
        metavar="SECONDS",
        help="wait (up to SECONDS, default 600) for the call's final status and print it",
    )


def parse_vars(pairs: list[str]) -> dict[str, str]:
    """NAME=VALUE pairs; raises ValueError naming a malformed one."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--var {name or pair!r}: write NAME=VALUE")
        out[name.strip()] = value
    return out


def public_url(config: Config, given: str | None) -> str:
    if given:
        return given.rstrip("/")
    if config.public_host:
        return f"https://{config.public_host}"
    raise ConfigError(
        "PUBLIC_HOST is not set: it is the host Twilio reaches the server at, where the "
        "call's stream and callbacks go (or give --public-url)"
    )


async def dial(config: Config, args: argparse.Namespace, out=sys.stdout) -> int:
    variables = parse_vars(args.var)
    try:
        graph = load_named_graph(args.graph, config)
    except GraphError as exc:
        print(f"not called: {exc}", file=sys.stderr)
        return 1
    base = public_url(config, args.public_url)
    config.require("TWILIO_ACCOUNT_SID", "python -m agent dial")
    token = config.require("TWILIO_AUTH_TOKEN", "python -m agent dial")
    twilio = TwilioRestClient(config.twilio_account_sid, token.reveal(), config.twilio_api_base_url)
    store = await Store.open(
        config.database_url.reveal(), connect_timeout_s=config.database_wait_seconds
    )
    try:
        records = OutboundRecords(store.engine)
        placer = TwilioCallPlacer(
            twilio, {graph.name: graph}, DncList(store.engine), records, base, config.from_number
        )
        limit = config.max_calls * config.web_concurrency
        if await RecordsCapacity(store.engine, limit, SYSTEM_WALL_CLOCK).free() == 0:
            print(
                f"not called (busy): {limit} calls in progress already "
                "(MAX_CALLS x WEB_CONCURRENCY, counted in the call records)",
                file=sys.stderr,
            )
            return 1
        request = DialRequest(args.to, graph.name, variables, args.from_number, args.tag)
        try:
            placed = await placer.place(request)
        except DialRefused as exc:
            print(f"not called ({exc.reason}): {exc}", file=sys.stderr)
            return 1
        print(
            f"calling {phone_hint(placed.to)}: {placed.call_sid} (graph {placed.graph})", file=out
        )
        if args.wait is None:
            return 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.wait
        while (outcome := await records.outcome(placed.call_sid)) is None:
            if loop.time() >= deadline:
                print(f"no final status after {args.wait:g} s", file=sys.stderr)
                return 1
            await asyncio.sleep(WAIT_POLL_S)
        duration = f", {outcome.duration_s:g} s" if outcome.duration_s is not None else ""
        who = f", answered by {outcome.answered_by}" if outcome.answered_by else ""
        print(f"{placed.call_sid}: {outcome.status}{who}{duration}", file=out)
        return 0
    finally:
        await twilio.close()
        await store.close()


def main(args: argparse.Namespace) -> int:
    config = load_config()
    try:
        return asyncio.run(dial(config, args))
    except (ConfigError, ValueError, DatabaseUnreachable) as exc:
        print(f"not called: {exc}", file=sys.stderr)
        return 2

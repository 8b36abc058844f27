"""`python -m agent dnc add|remove|list`: the do-not-call list in DATABASE_URL.

    dnc add NUMBER [--source S]   list a number (any spelling; stored in E.164)
    dnc remove NUMBER             take it off (exit 1 if it was not listed)
    dnc list [--json]             every listed number, when and how it got there

The `stop` route and the LLM's do_not_call tool add the numbers of callers who ask;
`dial`, `POST /calls` and campaigns refuse every listed number (agent/records/dnc.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from agent.cli.common import load_config
from agent.errors import DatabaseUnreachable
from agent.outbound.placing import DialRefused
from agent.records.dnc import DncList
from agent.records.store import Store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="put a number on the list")
    add.add_argument("number")
    add.add_argument("--source", default="cli", help="how it got there (default: cli)")
    remove = sub.add_parser("remove", help="take a number off the list")
    remove.add_argument("number")
    listing = sub.add_parser("list", help="print the list")
    listing.add_argument("--json", action="store_true", help="as JSON")


async def run(args: argparse.Namespace, out=sys.stdout) -> int:
    config = load_config()
    store = await Store.open(
        config.database_url.reveal(), connect_timeout_s=config.database_wait_seconds
    )
    try:
        dnc = DncList(store.engine)
        if args.action == "add":
            await dnc.add(args.number, args.source)
            print("listed: it will not be called", file=out)
            return 0
        if args.action == "remove":
            if await dnc.remove(args.number):
                print("removed from the do-not-call list", file=out)
                return 0
            print("that number is not on the do-not-call list", file=sys.stderr)
            return 1
        entries = await dnc.list()
        if args.json:
            rows = [
                {"number": e.number, "source": e.source, "added_at": e.added_at.isoformat()}
                for e in entries
            ]
            print(json.dumps(rows, indent=2), file=out)
        else:
            for e in entries:
                print(f"{e.number:16}  {e.added_at:%Y-%m-%d %H:%M} UTC  {e.source}", file=out)
            print(f"({len(entries)} number(s))", file=out)
        return 0
    finally:
        await store.close()


def main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run(args))
    except DialRefused as exc:
        print(f"not listed: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnreachable as exc:
        print(str(exc), file=sys.stderr)
        return 2

"""`python -m agent campaign run|resume|status|list`: calling lists (agent/campaigns/).

    campaign run calls.csv --graph reminder --concurrency 5 --window 09:00-20:00
                 [--timezone Europe/Paris] [--max-attempts 3] [--retry-after 600]
                 [--from +15550001111] [--results out.csv] [--max-wait SECONDS]
    campaign resume ID [--concurrency N] [--results out.csv] [--max-wait SECONDS]
    campaign status ID [--results out.csv]
    campaign list

`run` reads the CSV (each bad row is reported by line and column; the good ones are kept),
stores the campaign in DATABASE_URL and works it until every contact is done (waiting for
windows and retries; `--max-wait` returns earlier when the next call is further away). Run
`resume ID` on more processes or machines (Postgres) to work one campaign together.
SIGTERM or Ctrl-C stops claiming, lets the REST requests in flight finish and leaves the
calls in progress for `resume`; a second Ctrl-C exits at once (nothing committed is lost).
Exit codes: 0 done (or stopped cleanly), 1 bad input, 2 configuration, 3 stopped with
contacts left.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from agent.campaigns import store as campaign_store
from agent.campaigns.binding import bound, open_store
from agent.campaigns.contacts_csv import CsvError, read_contacts
from agent.campaigns.progress import Progress, summary
from agent.campaigns.results import write_results
from agent.campaigns.retry import RetryPolicy
from agent.campaigns.window import CallWindow, zone
from agent.campaigns.worker import CampaignWorker
from agent.cli.common import load_config
from agent.errors import SwitchboardError
from agent.logging_setup import setup_logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="store a calling list and call it")
    run.add_argument("csv", type=Path, help="number, then variables, optional timezone")
    run.add_argument("--graph", required=True, help="the graph each call runs")
    run.add_argument("--concurrency", type=int, default=5, help="calls at once (this worker)")
    run.add_argument("--window", default="09:00-20:00", help="HH:MM-HH:MM in the callee's zone")
    run.add_argument("--timezone", default="UTC", help="zone of rows without one (IANA)")
    run.add_argument("--max-attempts", type=int, default=3, help="calls per contact at most")
    run.add_argument(
        "--retry-after", type=float, default=600.0, help="seconds before the first retry (doubles)"
    )
    run.add_argument("--from", dest="from_number", help="caller ID (default FROM_NUMBER)")
    resume = sub.add_parser("resume", help="go on with a stopped campaign (or help a running one)")
    resume.add_argument("id")
    resume.add_argument("--concurrency", type=int, help="calls at once (default: the run's)")
    for p in (run, resume):
        p.add_argument("--results", type=Path, help="write the results CSV here at the end")
        p.add_argument(
            "--max-wait",
            type=float,
            help="return when the next call is due further than this many seconds away",
        )
    status = sub.add_parser("status", help="a campaign's counts (and results CSV)")
    status.add_argument("id")
    status.add_argument("--results", type=Path, help="write the results CSV here")
    sub.add_parser("list", help="every campaign, newest first")


def main(args: argparse.Namespace) -> int:
    config = load_config()
    setup_logging(config.log_format, config.log_level, config.secret_values())
    try:
        return asyncio.run(_main(args, config))
    except SwitchboardError as exc:  # the database, the graphs, PUBLIC_HOST
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _main(args: argparse.Namespace, config) -> int:
    store = await open_store(config)
    try:
        if args.action == "run":
            return await _run(args, config, store)
        if args.action == "resume":
            return await _resume(args, config, store)
        if args.action == "status":
            return await _status(args, store)
        return await _list(store)
    finally:
        await store.close()


def _settings(args: argparse.Namespace) -> campaign_store.CampaignSettings:
    """The run's settings; ValueError naming the bad option."""
    if args.concurrency < 1:
        raise ValueError("--concurrency must be at least 1")
    zone(args.timezone)
    return campaign_store.CampaignSettings(
        graph=args.graph,
        window=CallWindow.parse(args.window),
        timezone=args.timezone,
        concurrency=args.concurrency,
        policy=RetryPolicy(args.max_attempts, args.retry_after),
        from_number=args.from_number,
        source=args.csv.name,
    )


async def _run(args, config, store) -> int:
    try:
        settings = _settings(args)
        text = args.csv.read_text(encoding="utf-8-sig")
        contacts, errors = read_contacts(text)
    except (ValueError, CsvError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for error in errors:
        print(f"{args.csv.name}: {error}", file=sys.stderr)
    if not contacts:
        print(f"error: {args.csv.name} has no row to call", file=sys.stderr)
        return 1
    async with bound(config, store, settings.graph) as deps:
        campaign_id = await campaign_store.create_campaign(
            store.engine, settings, contacts, deps.clock.now()
        )
        skipped = f" ({len(errors)} bad row(s) skipped)" if errors else ""
        print(f"campaign {campaign_id}: {len(contacts)} contact(s){skipped}", file=sys.stderr)
        listed = [c.line for c in contacts if await deps.dnc.contains(c.number)]
        if listed:  # refused when their turn comes (checked again then: the list may change)
            lines = ", ".join(map(str, listed[:20])) + (" ..." if len(listed) > 20 else "")
            print(
                f"{args.csv.name}: {len(listed)} number(s) on the do-not-call list, not to be "
                f"called (line {lines})",
                file=sys.stderr,
            )
        return await _work(campaign_id, args, deps)


async def _resume(args, config, store) -> int:
    campaign = await campaign_store.get_campaign(store.engine, args.id)
    if campaign is None:
        print(f"error: no campaign {args.id!r} (campaign list)", file=sys.stderr)
        return 1
    async with bound(config, store, campaign.settings.graph) as deps:
        return await _work(args.id, args, deps)


async def _work(campaign_id: str, args, deps) -> int:
    engine = deps.engine
    campaign = await campaign_store.get_campaign(engine, campaign_id)
    assert campaign is not None
    worker = CampaignWorker(campaign, deps, concurrency=args.concurrency, max_wait_s=args.max_wait)
    counts = await campaign_store.counts(engine, campaign_id)
    progress = Progress(campaign_id, counts["total"])
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    interrupts = 0

    def on_signal(signame: str) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            print(f"\n{signame}: stopping (calls in progress are left for resume)", file=sys.stderr)
            worker.stop()
        elif main_task is not None:
            main_task.cancel()  # a second one: at once; committed state is safe

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig.name)

    async def show() -> None:
        while True:
            progress.update(await campaign_store.counts(engine, campaign_id))
            await asyncio.sleep(1.0)

    shower = asyncio.create_task(show())
    try:
        result = await worker.run()
    finally:
        shower.cancel()
        progress.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if result.finished:
        await campaign_store.set_state(engine, campaign_id, "done")
    print(summary(campaign_id, result.counts), file=sys.stderr)
    if result.released:
        print(f"{result.released} call(s) in progress left for `campaign resume {campaign_id}`")
    if result.next_due is not None:
        print(f"next call due at {result.next_due.isoformat()}: `campaign resume {campaign_id}`")
    if args.results:
        write_results(args.results, await campaign_store.contact_rows(engine, campaign_id))
        print(f"results: {args.results}", file=sys.stderr)
    return 0 if result.finished or not result.stopped else 3


async def _status(args, store) -> int:
    campaign = await campaign_store.get_campaign(store.engine, args.id)
    if campaign is None:
        print(f"error: no campaign {args.id!r} (campaign list)", file=sys.stderr)
        return 1
    settings = campaign.settings
    print(
        f"campaign {campaign.id} ({campaign.state}): graph {settings.graph}, window "
        f"{settings.window} ({settings.timezone} by default), {settings.concurrency} at once, "
        f"{settings.policy.max_attempts} attempt(s), list {settings.source or '-'}"
    )
    print(summary(campaign.id, await campaign_store.counts(store.engine, campaign.id)))
    if args.results:
        write_results(args.results, await campaign_store.contact_rows(store.engine, campaign.id))
        print(f"results: {args.results}")
    return 0


async def _list(store) -> int:
    rows = await campaign_store.list_campaigns(store.engine)
    for campaign, counts in rows:
        created = campaign.created_at.isoformat(timespec="seconds").replace("+00:00", "Z")
        print(f"{created}  {campaign.settings.graph:14}  {summary(campaign.id, counts)}")
    if not rows:
        print("no campaign yet (campaign run calls.csv --graph NAME)")
    return 0

"""`python -m agent graph test [NAME ...]`: run the graphs' conversation tests.

    python -m agent graph test                       # every graphs/*.tests.yaml
    python -m agent graph test receptionist --repeat 5 --scenario "pricing"
    python -m agent graph test --junit graph-tests.xml --concurrency 6

Each scenario of `graphs/NAME.tests.yaml` (agent/scenarios/model.py) runs as a real call: the
graph served in this process against the provider fakes, Twilio played by the emulator, the
caller's lines synthesised here (agent/scenarios/run.py, scripting.py). Scenarios run concurrently
(`--concurrency` calls at once), each `--repeat` times. Progress goes to stderr as runs
finish; the table (passes of N, the first failed expectation and the transcript around it)
to stdout; `--junit FILE` writes JUnit XML. `--schema` prints the tests file's JSON Schema.

`--live` runs the same calls against the graph's real providers (keys and URLs from the
environment and .env; Twilio stays emulated), the caller's lines spoken by Piper, the LLM
answering in its own words, which `says`/`matches` then check loosely
(agent/scenarios/live.py); the table says so.

Exit status: 0 every run passed; 1 a run failed or a tests file is invalid; 2 bad arguments
(an unknown graph or scenario; `--live` without a graph's keys or without Piper).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import time
from pathlib import Path
from typing import TextIO

from agent.cli.common import load_config
from agent.config import Config
from agent.errors import GraphError
from agent.graph.loader import load_servable_graphs
from agent.graph.suggest import hint
from agent.logging_setup import setup_logging
from agent.scenarios.check import evaluate
from agent.scenarios.live import LIVE_NOTE, live_provider_env
from agent.scenarios.model import SUFFIX, tests_schema_json
from agent.scenarios.read import TestsReport, read_tests, tests_files
from agent.scenarios.report import Outcome, describe, junit_xml, table
from agent.scenarios.run import Runner

LIVE_NEEDS_PIPER = (
    "--live speaks the caller's lines with Piper for the real STT to hear; install it with "
    "pip install -e '.[local]'"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help="graphs to test (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each scenario (1)")
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="S",
        help="only this scenario (repeatable)",
    )
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="calls at once (4; each call is real time)"
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="the real providers (keys from the environment/.env); wording matched loosely",
    )
    parser.add_argument("--schema", action="store_true", help="print the tests file JSON Schema")


def live_unavailable(paths: list[Path], config: Config) -> str | None:
    """Why a graph to test cannot run with its real providers here (a key unset), or None."""
    problems = []
    for path in paths:
        name = path.name.removesuffix(SUFFIX)
        try:
            load_servable_graphs(config.graphs_dir, config, name, only=[name])
        except GraphError as exc:
            problems.append(f"--live: graph '{name}' cannot run with its real providers: {exc}")
    return "\n".join(problems) or None


def main(args: argparse.Namespace) -> int:
    """`python -m agent graph test`."""
    if args.schema:
        sys.stdout.write(tests_schema_json())
        return 0
    config = load_config()
    # The calls' servers log only their warnings: the table is the output.
    setup_logging(config.log_format, "WARNING")
    return run(args, config)


def run(args, config: Config, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    live = live_provider_env(config.environ) if args.live else None
    if args.live and importlib.util.find_spec("piper") is None:
        print(LIVE_NEEDS_PIPER, file=err)
        return 2
    if args.repeat < 1 or args.concurrency < 1:
        print("--repeat and --concurrency must be at least 1", file=err)
        return 2
    files = tests_files(config.graphs_dir)
    by_name = {p.name.removesuffix(SUFFIX): p for p in files}
    for name in args.names:
        if name not in by_name:
            print(
                f"no conversation tests for graph '{name}' ({name}{SUFFIX} in "
                f"{config.graphs_dir}){hint(name, by_name)}",
                file=err,
            )
            return 2
    chosen = [by_name[n] for n in args.names] if args.names else files
    if not chosen:
        print(f"no conversation tests ({SUFFIX}) in {config.graphs_dir}", file=err)
        return 1
    if live is not None:
        unavailable = live_unavailable(chosen, config)
        if unavailable:
            print(unavailable, file=err)
            return 2
    reports = [read_tests(path, config) for path in chosen]
    bad = [p for r in reports for p in r.errors]
    for problem in bad:
        print(problem, file=err)
    if bad:
        return 1
    jobs = [
        (r, scenario)
        for r in reports
        for scenario in r.tests.scenarios
        if not args.scenario or scenario.name in args.scenario
    ]
    known = [s.name for r in reports for s in r.tests.scenarios]
    for wanted in args.scenario:
        if wanted not in known:
            print(f"unknown scenario '{wanted}'{hint(wanted, known)}", file=err)
            return 2
    outcomes = asyncio.run(
        run_all(jobs, str(config.graphs_dir), args.repeat, args.concurrency, err, live)
    )
    out.write(table(outcomes, LIVE_NOTE if live is not None else None))
    if args.junit:
        Path(args.junit).write_text(junit_xml(outcomes), encoding="utf-8")
        print(f"wrote {args.junit} (JUnit XML)", file=out)
    return 0 if all(o.passed for o in outcomes) else 1


async def run_all(
    jobs: list[tuple[TestsReport, object]],
    graphs_dir: str,
    repeat: int,
    concurrency: int,
    err,
    live: dict[str, str] | None = None,
) -> list[Outcome]:
    """Every scenario `repeat` times, at most `concurrency` calls at once."""
    runner = Runner(graphs_dir, live)
    gate = asyncio.Semaphore(concurrency)
    outcomes = [Outcome(r.graph_name, scenario.name) for r, scenario in jobs]
    total = len(jobs) * repeat
    done = 0
    started = time.monotonic()
    for report in {r.graph_name: r for r, _ in jobs}.values():  # models load before calls
        await runner.warm_up(report.tests, report.graph_name)
    print(f"running {total} call(s), {min(concurrency, total)} at a time", file=err, flush=True)

    async def one(i: int) -> None:
        nonlocal done
        report, scenario = jobs[i]
        async with gate:
            data = await runner.run(report.tests, report.graph_name, scenario)
        failures = evaluate(scenario, data, loose=live is not None)
        outcomes[i].runs.append(failures)
        outcomes[i].seconds.append(data.duration_s)
        done += 1
        verdict = "pass" if not failures else f"FAIL {describe(failures[0])}"
        print(
            f"[{done}/{total}] {report.graph_name} · {scenario.name}: {verdict} "
            f"({data.duration_s:.1f} s; {time.monotonic() - started:.0f} s in)",
            file=err,
            flush=True,
        )

    await asyncio.gather(*(one(i) for i in range(len(jobs)) for _ in range(repeat)))
    return outcomes

"""The router's section of bench/RESULTS.md, shared by bench/router_eval.py and router_latency.py.

RESULTS.md keeps one section per benchmark between `<!-- NAME:start -->` and `<!-- NAME:end -->`
markers, and other benchmarks write it too. The router section holds two parts, each between
its own inner markers (`<!-- router-eval:start -->`, `<!-- router-latency:start -->`): a run
re-reads the file right before writing and replaces only its part (adding the section at the
end if it is not there), so the rest of the file is left exactly as it was.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from bench.machine import machine_facts

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
START, END = "<!-- router:start -->", "<!-- router:end -->"
PARTS = ("router-eval", "router-latency", "router-candidates")
HEADER = """# Benchmark results

The latest measured numbers of each benchmark in `bench/`; each benchmark run rewrites only
its own section.
"""
TITLE = "## Router: instant answers from the audio cache"


def machine_line() -> str:
    facts = machine_facts()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{facts['nproc']} CPUs ({facts['cpu']}), {facts['os']}, Python {facts['python']}, "
        f"pipecat {facts['pipecat']}; load average {load}"
    )


def now_utc() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _empty_section() -> str:
    parts = "\n\n".join(f"<!-- {p}:start -->\n<!-- {p}:end -->" for p in PARTS)
    return f"{START}\n{TITLE}\n\n{parts}\n{END}"


def write_part(part: str, body: str, path: Path = RESULTS) -> None:
    """Replace part `part` of the router section of `path` with `body` (re-read just now)."""
    if part not in PARTS:
        raise ValueError(part)
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if START not in text or END not in text:
        text = text.rstrip("\n") + "\n\n" + _empty_section() + "\n"
    head, rest = text.split(START, 1)
    section, tail = rest.split(END, 1)
    begin, end = f"<!-- {part}:start -->", f"<!-- {part}:end -->"
    if begin not in section or end not in section:
        section = section.rstrip("\n") + f"\n\n{begin}\n{end}\n"
    before, after = section.split(begin, 1)
    _, after = after.split(end, 1)
    section = f"{before}{begin}\n{body.strip()}\n{end}{after}"
    path.write_text(f"{head}{START}{section}{END}{tail}", encoding="utf-8")

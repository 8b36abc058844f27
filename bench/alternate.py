"""Before and after a change on the call path: `bench.pacing` run alternately on two checkouts.

    python -m bench.alternate --before /path/to/old/checkout [--after .] [--calls 50]
        [--rounds 3] [--out /tmp/alternate]

Each round runs our side of `bench.pacing` (`--only ours --no-write`) on the `before`
checkout, then on the `after` one, each in its own process with its own server, so the two
see the same machine in turn and a slow spell of the machine shows in both. It prints one
markdown row per run and the median of each side: the table bench/RESULTS.md keeps. A
checkout is any directory holding the project (a `git worktree add --detach DIR REV` of the
commit before the change is the usual `before`); each run imports the code of its own.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

COLUMNS = [
    ("ok", "ok", "{:.0f}"),
    ("turn_p50_s", "turn p50 s", "{:.2f}"),
    ("turn_p95_s", "turn p95 s", "{:.2f}"),
    ("underruns", "underruns", "{:.0f}"),
    ("send_lateness_p99_ms", "pacer send lateness p99 ms", "{:.1f}"),
    ("jitter_p99_ms", "jitter p99 at the caller ms", "{:.1f}"),
    ("server_lag_p99_ms", "server loop lag p99 ms", "{:.1f}"),
    ("barge_clear_p50_s", "barge-in → clear p50 s", "{:.2f}"),
    ("cpu_per_call_min", "CPU s / call-min", "{:.2f}"),
    ("server_rss_max_mb", "RSS peak MB", "{:.0f}"),
    ("other_cpu_s", "other CPU s", "{:.1f}"),
]


def run_once(checkout: Path, calls: int, json_path: Path) -> dict:
    """One `bench.pacing` run of our side in `checkout`; its row, with CPU per call-minute."""
    argv = [sys.executable, "-m", "bench.pacing", "--only", "ours", "--calls", str(calls)]
    argv += ["--no-write", "--json", str(json_path)]
    subprocess.run(argv, cwd=checkout, check=True, stdout=subprocess.DEVNULL)
    row = json.loads(json_path.read_text())[0]
    row["cpu_per_call_min"] = row["server_cpu_s"] / (row["call_seconds"] / 60)
    return row


def markdown(rows: list[tuple[str, dict]]) -> str:
    header = "| run | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    lines = [header, "|" + " --- |" * (len(COLUMNS) + 1)]
    for name, row in rows:
        cells = (fmt.format(row[key]) for key, _, fmt in COLUMNS)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for side in ("before", "after"):
        mine = [row for name, row in rows if name.startswith(side)]
        if mine:
            cells = (fmt.format(statistics.median(r[k] for r in mine)) for k, _, fmt in COLUMNS)
            lines.append(f"| **{side}, median** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout before the change")
    parser.add_argument("--after", type=Path, default=Path("."), help="checkout after it")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/alternate"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, dict]] = []
    for round_no in range(1, args.rounds + 1):
        for side, checkout in (("before", args.before), ("after", args.after)):
            started = time.monotonic()
            row = run_once(checkout.resolve(), args.calls, args.out / f"{side}_{round_no}.json")
            rows.append((f"{side} {round_no}", row))
            print(
                f"round {round_no}/{args.rounds} {side}: turn p95 {row['turn_p95_s']:.2f} s, "
                f"CPU {row['cpu_per_call_min']:.2f} s/call-min "
                f"({time.monotonic() - started:.0f} s)",
                file=sys.stderr,
            )
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

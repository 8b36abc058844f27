"""Before and after a change on the call path: `bench.pacing` run alternately on two checkouts.

    python -m bench.alternate --before /path/to/old/checkout [--after .] [--calls 50]
        [--rounds 3] [--out /tmp/alternate]
    python -m bench.alternate --before . --after . --after-args=--watch-live \
        --names without,with        # one checkout, with and without a browser on Live

Each round runs our side of `bench.pacing` (`--only ours --no-write`) on the `before`
checkout, then on the `after` one, each in its own process with its own server, so the two
see the same machine in turn and a slow spell of the machine shows in both. It prints one
markdown row per run and the median of each side: the table bench/RESULTS.md keeps. A
checkout is any directory holding the project (a `git worktree add --detach DIR REV` of the
commit before the change is the usual `before`); each run imports the code of its own.
`--before-args`/`--after-args` add `bench.pacing` options to one side (the same checkout on
both sides then compares a run condition, such as `--watch-live`: a browser on the
dashboard's Live page), and `--names` labels the two sides in the table.
"""

from __future__ import annotations

import argparse
import json
import shlex
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


def run_once(checkout: Path, calls: int, json_path: Path, extra: list[str] = ()) -> dict:
    """One `bench.pacing` run of our side in `checkout`; its row, with CPU per call-minute."""
    argv = [sys.executable, "-m", "bench.pacing", "--only", "ours", "--calls", str(calls)]
    argv += ["--no-write", "--json", str(json_path), *extra]
    subprocess.run(argv, cwd=checkout, check=True, stdout=subprocess.DEVNULL)
    row = json.loads(json_path.read_text())[0]
    row["cpu_per_call_min"] = row["server_cpu_s"] / (row["call_seconds"] / 60)
    return row


def markdown(rows: list[tuple[str, dict]], sides: tuple[str, str] = ("before", "after")) -> str:
    header = "| run | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    lines = [header, "|" + " --- |" * (len(COLUMNS) + 1)]
    for name, row in rows:
        cells = (fmt.format(row[key]) for key, _, fmt in COLUMNS)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for side in sides:
        mine = [row for name, row in rows if name.startswith(side + " ")]
        if mine:
            cells = (fmt.format(statistics.median(r[k] for r in mine)) for k, _, fmt in COLUMNS)
            lines.append(f"| **{side}, median** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _viewer_note(row: dict) -> str:
    """What the browser on Live saw and used, for a run with `--watch-live`."""
    seen = row.get("live_viewer")
    if not seen:
        return ""
    return (
        f" browser on Live: {seen['cards_seen']} call cards seen, up to {seen['most_at_once']}"
        f" at once, {seen['transcript_lines_max']} transcript lines at most, event stream "
        f"{'up' if seen['connected'] else 'DOWN'} at the end, {seen['browser_cpu_s']:.1f} s CPU"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout before the change")
    parser.add_argument("--after", type=Path, default=Path("."), help="checkout after it")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/alternate"))
    parser.add_argument("--before-args", default="", help="bench.pacing options, before side")
    parser.add_argument("--after-args", default="", help="bench.pacing options, after side")
    parser.add_argument("--names", default="before,after", help="the two sides' labels")
    args = parser.parse_args(argv)
    names = tuple(args.names.split(","))
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        parser.error(f"--names takes two different labels, comma-separated, not {args.names!r}")
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, dict]] = []
    for round_no in range(1, args.rounds + 1):
        sides = (
            (names[0], args.before, shlex.split(args.before_args)),
            (names[1], args.after, shlex.split(args.after_args)),
        )
        for side, checkout, extra in sides:
            started = time.monotonic()
            json_path = args.out / f"{side}_{round_no}.json"
            row = run_once(checkout.resolve(), args.calls, json_path, extra)
            rows.append((f"{side} {round_no}", row))
            print(
                f"round {round_no}/{args.rounds} {side}: turn p95 {row['turn_p95_s']:.2f} s, "
                f"CPU {row['cpu_per_call_min']:.2f} s/call-min "
                f"({time.monotonic() - started:.0f} s)" + _viewer_note(row),
                file=sys.stderr,
            )
    print(markdown(rows, names))
    watched = [(name, row) for name, row in rows if row.get("live_viewer")]
    if watched:
        print()
        for name, row in watched:
            print(f"- {name}:{_viewer_note(row)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

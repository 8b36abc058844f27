"""Pacing benchmark: our server vs a pipecat-only reference, same calls, same provider fakes.

    python -m bench.pacing                      # 1, 10, 50, 100 and 200 concurrent calls, both sides
    python -m bench.pacing --calls 1 10 [--only ours|reference] [--no-write]
    python -m bench.pacing --quick              # 1 and 10 calls, RESULTS.md untouched
    python -m bench.pacing --only ours --processes 2 --calls 100 --no-write  # scale-out

Each (side, level) runs on its own: fresh provider fakes in this process (Deepgram final
latency 0.25 s, Groq first token 0.2 s, Cartesia first audio 0.1 s), the server in a
subprocess (ours: `python -m agent serve`, receptionist graph, our AudioPacer; reference:
`python -m bench.reference_server`, pipecat's FastAPI WebSocket transport), one warm-up call,
then N calls placed by the Twilio emulator over `--stagger` seconds. The server is stopped
before the next run, so two servers never compete for the CPU. With `--processes N` our side
runs as N server processes on their own ports, the calls dealt out in turn, reported as one
server "ours ×N" (`bench.server_group`: CPU and RSS summed, histograms merged).

The call script and its analysis are in `bench.pacing_call`. Each run also checks that every
caller's question reached the LLM (`llm_answers`) and how much of the callers' audio reached
the STT before they hung up (`stt_share`).

Measured per side and level (definitions in `analyse_call`, `bench.report` and
bench/RESULTS.md): per-turn response latency, engine overhead (a zero-latency run of N short
calls on the same server first), media send-time jitter, Twilio buffer depth, underruns,
barge-in to `clear` and to silence, answer latency, the server's own event-loop lag (its
opt-in probe), CPU seconds of the server process (per call-minute), of this process and of
everything else, RSS idle and peak, process start to healthy; each row says which of issue
7's goals hold. Every level is time-capped: a collapsed server fails calls, not the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agent.app.loop_lag import METRIC as LOOP_LAG_METRIC
from agent.app.metrics import PACER_SEND_LATENESS as SEND_LATENESS_METRIC
from agent.sim.emulator import TwilioEmulator
from agent.sim.fakes import ProviderFakes
from agent.sim.turns import percentile
from bench import report
from bench.harness import (
    BENCH_ADMIN_TOKEN,
    PUBLIC_HOST,
    ROOT,
    SIDES,
    CpuMeter,
    LoopLag,
    histogram_quantile,
    log_dir,
    start_servers,
)
from bench.live_viewer import LiveViewer
from bench.pacing_call import (
    MAX_CALL_S,
    MAX_OVERHEAD_CALL_S,
    CallStats,
    analyse_call,
    call_script,
    configure_fakes,
    configure_zero_latency_fakes,
    engine_overhead,
    overhead_script,
    warm_up_script,
)

# -- one level ------------------------------------------------------------------------------


@dataclass
class LevelResult:
    side: str
    calls: int
    ok: int
    errors: dict[str, int]
    timeouts: int
    jitter_p50_ms: float | None
    jitter_p99_ms: float | None
    jitter_max_ms: float | None
    send_rate: float | None
    msg_ms: float | None
    max_buffer_p50_s: float | None
    max_buffer_max_s: float | None
    underruns: int
    calls_with_underruns: int
    barge_clear_p50_s: float | None
    barge_clear_p95_s: float | None
    barge_silence_p50_s: float | None
    barge_silence_p95_s: float | None
    barge_missing: int
    answer_p50_s: float | None
    answer_p95_s: float | None
    wall_s: float
    server_cpu_s: float
    bench_cpu_s: float
    other_cpu_s: float
    loop_lag_p99_ms: float | None
    loop_lag_max_ms: float | None
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    server_rss_max_mb: float
    server_log_problems: int
    server_log_samples: list[str]
    llm_answers: int = 0  # questions that reached the LLM (should equal calls)
    speed_ms: tuple[float, float] = (0.0, 0.0)  # harness.machine_speed_ms() before, after
    stt_share: float | None = None  # caller audio that reached Deepgram before the hang-up
    call_seconds: float = 0.0  # summed length of the measured calls
    # agent.sim.turns over every call: end of a caller turn -> the agent's next audio
    turn_p50_s: float | None = None
    turn_p95_s: float | None = None
    turn_p99_s: float | None = None
    turns_answered: int = 0
    turns_unanswered: int = 0
    # the zero-latency run (pacing_call.engine_overhead), same N, same server, before
    overhead_p50_ms: float | None = None
    overhead_p95_ms: float | None = None
    overhead_measured: int = 0  # calls of that run whose answer was measured
    server_lag_p50_ms: float | None = None  # the server's own loop-lag probe, main run
    server_lag_p99_ms: float | None = None
    # ours only: the pacer's own send lateness (switchboard_pacer_send_lateness_seconds), main run
    send_lateness_p99_ms: float | None = None
    rss_idle_mb: float = 0.0  # after the warm-up call, before any measured call
    start_to_healthy_s: float = 0.0
    capped: int = 0  # calls still running at the level's time cap (cancelled, failed)
    processes: int = 1  # server processes sharing the calls (`--processes`)
    call_records: list[dict] = field(default_factory=list)  # --json only
    # --watch-live: what a browser on the dashboard's Live page saw (bench.live_viewer)
    live_viewer: dict | None = None

    @property
    def cpu_s_per_call_min(self) -> float | None:
        return self.server_cpu_s / (self.call_seconds / 60) if self.call_seconds else None

    @property
    def rss_per_call_mb(self) -> float:
        return max(0.0, self.server_rss_max_mb - self.rss_idle_mb) / max(self.calls, 1)


def summarise(
    side: str,
    stats: list[CallStats],
    meter: CpuMeter,
    lag: LoopLag,
    server,
    llm_answers: int,
    stt_audio_s: float,
) -> LevelResult:
    def vals(name: str) -> list[float]:
        return [v for s in stats if (v := getattr(s, name)) is not None]

    jitter = [j for s in stats for j in s.jitter_ms]
    rates = [x for s in stats for x in s.send_rates]
    msgs = [x for s in stats for x in s.msg_ms]
    buffers = vals("max_buffer_s")
    turns = [t for s in stats for t in s.turn_latency_s]
    clears, silences, answers = (
        vals("barge_to_clear_s"),
        vals("barge_to_silence_s"),
        vals("answer_latency_s"),
    )
    problems = server.log_problems()
    # The same warning from many calls: show each distinct message once (minus timestamps).
    distinct = Counter(_log_shape(line) for line in problems)
    return LevelResult(
        side=side,
        calls=len(stats),
        ok=sum(s.ok for s in stats),
        errors=dict(Counter(s.error for s in stats if s.error)),
        timeouts=sum(len(s.timeouts) for s in stats),
        jitter_p50_ms=percentile(jitter, 50),
        jitter_p99_ms=percentile(jitter, 99),
        jitter_max_ms=max(jitter) if jitter else None,
        send_rate=statistics.median(rates) if rates else None,
        msg_ms=statistics.median(msgs) if msgs else None,
        max_buffer_p50_s=percentile(buffers, 50),
        max_buffer_max_s=max(buffers) if buffers else None,
        underruns=sum(s.underruns for s in stats),
        calls_with_underruns=sum(1 for s in stats if s.underruns),
        barge_clear_p50_s=percentile(clears, 50),
        barge_clear_p95_s=percentile(clears, 95),
        barge_silence_p50_s=percentile(silences, 50),
        barge_silence_p95_s=percentile(silences, 95),
        barge_missing=sum(1 for s in stats if s.barge_to_clear_s is None),
        answer_p50_s=percentile(answers, 50),
        answer_p95_s=percentile(answers, 95),
        wall_s=meter.wall_s,
        server_cpu_s=meter.server_s,
        bench_cpu_s=meter.bench_s,
        other_cpu_s=meter.other_s,
        loop_lag_p99_ms=_ms(percentile(lag.samples, 99)),
        loop_lag_max_ms=_ms(max(lag.samples) if lag.samples else None),
        load_before=meter.load_before,
        load_after=meter.load_after,
        speed_ms=meter.speed_ms,
        server_rss_max_mb=server.rss_max_mb,
        server_log_problems=len(problems),
        server_log_samples=[f"{n}x {msg}" for msg, n in distinct.most_common(4)],
        llm_answers=llm_answers,
        call_seconds=sum(s.caller_audio_s for s in stats),
        stt_share=stt_audio_s / caller_s
        if (caller_s := sum(s.caller_audio_s for s in stats))
        else None,
        turn_p50_s=percentile(turns, 50),
        turn_p95_s=percentile(turns, 95),
        turn_p99_s=percentile(turns, 99),
        turns_answered=len(turns),
        turns_unanswered=sum(s.unanswered_turns for s in stats),
        call_records=[s.record() for s in stats],
    )


def _log_shape(line: str) -> str:
    """A log line without its timestamp, ids, addresses and counts, to group repeats."""
    line = line.split(" - ", 1)[-1] if " | " in line else line.split(" ", 1)[-1]
    return re.sub(r"0x[0-9a-f]+|\b[0-9a-f]{12}\b|\d+(\.\d+)?", "#", line)[:160]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


async def _one_call(emulator: TwilioEmulator, delay_s: float) -> CallStats:
    await asyncio.sleep(delay_s)
    try:
        result = await emulator.place_call(call_script(), max_duration=MAX_CALL_S)
    except Exception as exc:  # refused, reset, ...: a failed call, counted by kind
        return CallStats(error=f"{exc.__class__.__name__}: {str(exc)[:80]}")
    return analyse_call(result)


async def _overhead_call(emulator: TwilioEmulator, delay_s: float) -> float | None:
    await asyncio.sleep(delay_s)
    try:
        result = await emulator.place_call(overhead_script(), max_duration=MAX_OVERHEAD_CALL_S)
    except Exception:
        return None
    return engine_overhead(result)


async def _capped(coros: list, cap_s: float, failed) -> tuple[list, int]:
    """Run the calls at once; any still running after cap_s is cancelled and replaced by
    `failed` (a collapsed server must not hold the benchmark up)."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    _done, pending = await asyncio.wait(tasks, timeout=cap_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    results = [failed if t in pending or t.exception() is not None else t.result() for t in tasks]
    return results, len(pending)


async def run_level(
    side: str,
    calls: int,
    stagger_s: float,
    logs: Path,
    processes: int = 1,
    watch_live: bool = False,
) -> LevelResult:
    async with ProviderFakes() as fakes:
        server = await start_servers(side, fakes.env(), logs, processes)
        viewer = None
        try:
            emulators = [
                TwilioEmulator(url, public_base_url=f"https://{PUBLIC_HOST}")
                for url in server.base_urls
            ]
            configure_zero_latency_fakes(fakes)  # a whole turn: first uses of LLM and TTS
            for emulator in emulators:  # each process's first turn
                await emulator.place_call(warm_up_script(), max_duration=MAX_CALL_S)
            await server.wait_idle(10)
            await asyncio.sleep(1.0)
            rss_idle = server.rss_mb()
            if watch_live:  # on Live for both runs, as an owner would be
                viewer = LiveViewer(server.base_url, BENCH_ADMIN_TOKEN)
                await viewer.__aenter__()
            spread = stagger_s / calls if calls > 1 else 0.0
            lag = LoopLag(server)  # samples RSS from here on (both runs: the peak of N calls)
            lag.start()
            # 1. Engine overhead: the same N calls, a short script, zero-latency fakes.
            configure_zero_latency_fakes(fakes)
            overheads, _ = await _capped(
                [_overhead_call(emulators[i % processes], i * spread) for i in range(calls)],
                stagger_s + MAX_OVERHEAD_CALL_S + 5,
                None,
            )
            await server.wait_idle(20)
            # 2. The measured calls, realistic latencies.
            configure_fakes(fakes)
            await lag.stop()
            warm_connections = len(fakes.deepgram.connections)
            groq_before = len(fakes.groq.requests)
            meter, lag = CpuMeter(server), LoopLag(server)
            lag.server.rss_max_mb = max(lag.server.rss_max_mb, rss_idle)
            hist_before = await server.histograms(LOOP_LAG_METRIC, SEND_LATENESS_METRIC)
            lag.start()
            meter.start()
            stats, capped = await _capped(
                [_one_call(emulators[i % processes], i * spread) for i in range(calls)],
                stagger_s + MAX_CALL_S + 10,
                CallStats(error="cut at the level's time cap"),
            )
            meter.stop()
            await lag.stop()
            hist_after = await server.histograms(LOOP_LAG_METRIC, SEND_LATENESS_METRIC)
        finally:
            if viewer is not None:
                await viewer.__aexit__(None, None, None)
            await server.stop()
        llm_answers = sum(
            1
            for body in fakes.groq.requests[groq_before:]
            if any(
                m.get("role") == "user" and "appointment" in str(m.get("content"))
                for m in body.get("messages", [])[-1:]
            )
        )
        # 8 kHz 16-bit PCM: how far the server's input path (transport, VAD, STT) kept up.
        stt_audio_s = sum(
            c.bytes_received / 16000 for c in fakes.deepgram.connections[warm_connections:]
        )
        label = side if processes == 1 else f"{side} ×{processes}"
        level = summarise(label, list(stats), meter, lag, server, llm_answers, stt_audio_s)
        level.processes = processes
        measured = [o for o in overheads if o is not None]
        level.overhead_p50_ms = _ms(percentile(measured, 50))
        level.overhead_p95_ms = _ms(percentile(measured, 95))
        level.overhead_measured = len(measured)
        lag_before = hist_before.get(LOOP_LAG_METRIC, {})
        lag_after = hist_after.get(LOOP_LAG_METRIC, {})
        level.server_lag_p50_ms = _ms(histogram_quantile(0.50, lag_before, lag_after))
        level.server_lag_p99_ms = _ms(histogram_quantile(0.99, lag_before, lag_after))
        if SEND_LATENESS_METRIC in hist_after:
            level.send_lateness_p99_ms = _ms(
                histogram_quantile(
                    0.99,
                    hist_before.get(SEND_LATENESS_METRIC, {}),
                    hist_after[SEND_LATENESS_METRIC],
                )
            )
        level.rss_idle_mb = rss_idle
        level.start_to_healthy_s = server.start_to_healthy_s
        level.capped = capped
        if viewer is not None:
            level.live_viewer = asdict(viewer.result)
        return level


# -- CLI ------------------------------------------------------------------------------------


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pacing", description=__doc__)
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 10, 50, 100, 200], metavar="N")
    parser.add_argument("--only", choices=SIDES, help="run one side only")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 and 10 calls; RESULTS.md untouched"
    )
    parser.add_argument("--stagger", type=float, default=2.0, help="seconds to start calls over")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="run our side as N server processes, the calls dealt out in turn (scale-out)",
    )
    parser.add_argument(
        "--watch-live",
        action="store_true",
        help="ours only: a headless Chromium on the dashboard's Live page for every level",
    )
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls = [1, 10]
        args.no_write = True
    return args


async def _main(args: argparse.Namespace, argv: list[str]) -> int:
    # The Groq fake logs a traceback whenever a client drops a streamed reply it has not
    # started yet (the agent cancels its LLM request when interrupted): expected here.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    sides = [args.only] if args.only else list(SIDES)
    logs = log_dir()
    results: list[LevelResult] = []
    started = time.time()
    for calls in args.calls:
        for side in sides:
            print(f"[pacing] {side}: {calls} call(s)...", file=sys.stderr, flush=True)
            processes = args.processes if side == "ours" else 1
            watch = args.watch_live and side == "ours"
            level = await run_level(side, calls, args.stagger, logs, processes, watch)
            results.append(level)
            print(report.console_row(level), file=sys.stderr, flush=True)
            if level.live_viewer is not None:
                print(f"[pacing] browser on Live: {level.live_viewer}", file=sys.stderr)
    command = "python -m bench.pacing" + (" " + " ".join(argv) if argv else "")
    print()
    print(report.scale_table(results, markdown=False))
    print()
    print(report.console_table(results))
    for level in results:
        if level.server_log_samples:
            print(f"\n{level.side} @ {level.calls}: {level.server_log_problems} server log "
                  f"lines at WARNING+, e.g.:")  # fmt: skip
            for sample in level.server_log_samples:
                print(f"  {sample}")
    print(f"\nserver logs: {logs}  (took {time.time() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    if not args.no_write:
        report.update_results(args.results, command, results)
        print(f"updated {args.results}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return asyncio.run(_main(_parse(argv), argv))


if __name__ == "__main__":
    raise SystemExit(main())

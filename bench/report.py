"""Tables for the pacing benchmark: the console, and its section of bench/RESULTS.md.

RESULTS.md keeps one section per benchmark between `<!-- NAME:start -->` and
`<!-- NAME:end -->` markers; a run rewrites its own section and leaves the rest alone.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from bench.machine import machine_facts
from bench.pacing_call import LEAD_S, PRIME_S

HEADER = """# Benchmark results

The latest measured numbers of each benchmark in `bench/` (see `bench/README.md`). Each
section says the command that produced it, when, and on what machine; a benchmark run rewrites
only its own section. Numbers from different machines, or taken while other work loaded the
machine (see each section's load and "other CPU" columns), are not comparable.
"""

COLUMNS = [
    ("side", "side"),
    ("calls", "calls"),
    ("ok", "ok / failed"),
    ("jitter", "jitter p50 / p99 ms"),
    ("rate", "msg ms, send rate ×rt"),
    ("buffer", "max buffer p50 / max s"),
    ("underruns", "underruns (calls)"),
    ("clear", "barge→clear p50 / p95 s"),
    ("silence", "barge→silent p50 / p95 s"),
    ("answer", "answer latency p50 / p95 s (ok calls)"),
    ("stt", "caller audio → STT %"),
    ("llm", "questions → LLM"),
    ("cpu", "server CPU s (% core, s/call)"),
    ("bench", "bench CPU s"),
    ("other", "other CPU s"),
    ("lag", "bench lag p99 / max ms"),
    ("load", "load 1m before→after"),
    ("speed", "machine speed ms before→after"),
]


# The goals (issue 7, "Done when"), checked on every row.
GOAL_P95_SLACK = 1.10  # p95 turn latency within 10% of the same side's 1-call figure
GOAL_JITTER_P99_MS = 5.0
GOAL_RSS_PER_CALL_MB = 10.0
GOAL_CPU_SHARE = 0.5  # ours' CPU per call-minute at most half the reference's

SCALE_COLUMNS = [
    ("side", "side"),
    ("calls", "calls"),
    ("ok", "ok / failed"),
    ("turn", "turn latency p50 / p95 / p99 s"),
    ("overhead", "engine overhead p50 / p95 ms"),
    ("underruns", "underruns (calls)"),
    ("jitter99", "jitter p99 ms: pacer send / at the caller"),
    ("srvlag", "server loop lag p50 / p99 ms"),
    ("cpumin", "CPU s / call-min"),
    ("rss", "RSS idle→peak MB (per call)"),
    ("healthy", "start→healthy s"),
    ("goals", "goals"),
]


def _f(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def cells(r) -> dict[str, str]:
    failed = r.calls - r.ok
    share = 100 * r.server_cpu_s / r.wall_s if r.wall_s else 0
    return {
        "side": r.side,
        "calls": str(r.calls),
        "ok": f"{r.ok} / {failed}",
        "jitter": f"{_f(r.jitter_p50_ms, 1)} / {_f(r.jitter_p99_ms, 1)}",
        "rate": f"{_f(r.msg_ms, 0)}, {_f(r.send_rate)}",
        "buffer": f"{_f(r.max_buffer_p50_s)} / {_f(r.max_buffer_max_s)}",
        "underruns": f"{r.underruns} ({r.calls_with_underruns})",
        "clear": f"{_f(r.barge_clear_p50_s)} / {_f(r.barge_clear_p95_s)}",
        "silence": f"{_f(r.barge_silence_p50_s)} / {_f(r.barge_silence_p95_s)}",
        "answer": f"{_f(r.answer_p50_s)} / {_f(r.answer_p95_s)}",
        "stt": "–" if r.stt_share is None else f"{100 * r.stt_share:.0f}",
        "llm": f"{r.llm_answers}/{r.calls}",
        "cpu": f"{r.server_cpu_s:.1f} ({share:.0f}%, {r.server_cpu_s / max(r.calls, 1):.2f})",
        "bench": f"{r.bench_cpu_s:.1f}",
        "other": f"{r.other_cpu_s:.1f}",
        "lag": f"{_f(r.loop_lag_p99_ms, 1)} / {_f(r.loop_lag_max_ms, 0)}",
        "load": f"{r.load_before[0]:.2f}→{r.load_after[0]:.2f}",
        "speed": f"{r.speed_ms[0]:.0f}→{r.speed_ms[1]:.0f}",
    }


def goal_misses(r, results: list) -> list[str] | None:
    """The issue's goals that do not hold for this row, with the measured values
    (None: nothing to judge, e.g. no 1-call figure of the same side in this run)."""
    misses = []
    if r.calls - r.ok:
        misses.append(f"{r.calls - r.ok} calls failed")
    if r.underruns:
        misses.append(f"{r.underruns} underruns")
    single = next((x for x in results if x.side == r.side and x.calls == 1), None) or next(
        (x for x in results if x.side == base_side(r) and x.calls == 1), None
    )
    if single is not None and single.turn_p95_s is not None:
        limit = GOAL_P95_SLACK * single.turn_p95_s
        if r.turn_p95_s is None:
            misses.append("no turn answered")
        elif r.turn_p95_s > limit:
            misses.append(f"p95 {r.turn_p95_s:.2f} s > {limit:.2f} s (1 call +10%)")
    # The pacer's own send jitter where the server has one (ours); else what the caller got.
    jitter, where = (
        (r.send_lateness_p99_ms, "pacer send")
        if r.send_lateness_p99_ms is not None
        else (r.jitter_p99_ms, "arrival")
    )
    if jitter is None or jitter > GOAL_JITTER_P99_MS:
        misses.append(f"{where} jitter p99 {_f(jitter, 1)} ms")
    if r.rss_per_call_mb > GOAL_RSS_PER_CALL_MB:
        misses.append(f"RSS {r.rss_per_call_mb:.1f} MB/call")
    share = cpu_share(r, results)
    if share is not None and share > GOAL_CPU_SHARE:
        misses.append(f"CPU {share:.0%} of the reference's")
    return misses


def base_side(r) -> str:
    """ "ours" for "ours ×2" (our server as two processes, `--processes 2`)."""
    return r.side.split(" ")[0]


def _reference_of(r, results: list):
    return next((x for x in results if x.side == "reference" and x.calls == r.calls), None)


def cpu_share(r, results: list) -> float | None:
    """Ours' CPU per call-minute as a share of the reference's at the same level."""
    ref = _reference_of(r, results) if base_side(r) == "ours" else None
    if ref is None or not r.cpu_s_per_call_min or not ref.cpu_s_per_call_min:
        return None
    return r.cpu_s_per_call_min / ref.cpu_s_per_call_min


# Thresholds past which a row's own measurements show what held it back (`row_causes`).
SATURATED_SHARE = 0.7  # server CPU / wall: one event loop this busy queues its timers
LATE_LOOP_MS = 20.0  # server loop lag p99 that makes turns and the send clock late
CONTENDED_SHARE = 0.15  # other processes' CPU / wall: the machine was not ours alone
SLOW_MACHINE_MS = 60.0  # harness.machine_speed_ms; ~40 on a quiet machine of these
BENCH_LAG_MS = 50.0  # the emulator's own loop lag p99: its arrival times are that late too


def row_causes(r) -> list[str]:
    """What this row's own measurements show held it back: the server's event loop
    saturated, its input behind real time, the machine shared or slow, the emulator lagging.
    The goals column's "Why" and the observations under the tables both read these."""
    causes = []
    processes = getattr(r, "processes", 1)
    busy = r.server_cpu_s / r.wall_s / processes if r.wall_s else 0.0
    lag = r.server_lag_p99_ms
    if busy >= SATURATED_SHARE and lag is not None and lag >= LATE_LOOP_MS:
        causes.append(
            f"the server used {busy:.0%} of a core, and its one event loop (every call's)"
            f" woke {lag:.0f} ms late at p99"
            if processes == 1
            else f"each of its {processes} processes used ~{busy:.0%} of a core, and their"
            f" event loops woke {lag:.0f} ms late at p99"
        )
    if r.stt_share is not None and r.stt_share < 0.99:
        causes.append(f"its input fell behind: {r.stt_share:.0%} of caller audio reached the STT")
    other = r.other_cpu_s / r.wall_s if r.wall_s else 0.0
    if other >= CONTENDED_SHARE:
        causes.append(f"other processes used {other:.0%} of a core")
    if max(r.speed_ms) >= SLOW_MACHINE_MS:
        causes.append(f"the machine ran slow (speed {max(r.speed_ms):.0f} ms)")
    if r.loop_lag_p99_ms is not None and r.loop_lag_p99_ms >= BENCH_LAG_MS:
        causes.append(f"the emulator's own loop lagged {r.loop_lag_p99_ms:.0f} ms at p99")
    return causes


def goal_causes(r, results: list) -> list[str]:
    """Why this row's goals were missed: `row_causes`, and for a CPU miss against a
    reference that failed calls, that its CPU leaves those out. Empty when nothing measured
    explains it."""
    causes = row_causes(r)
    share = cpu_share(r, results)
    ref = _reference_of(r, results)
    if share is not None and share > GOAL_CPU_SHARE and ref.ok < ref.calls:
        causes.append(
            f"the reference failed {ref.calls - ref.ok} of {ref.calls} calls: its CPU per"
            " call-minute leaves out the work those calls never got"
        )
    return causes


def goals_cell(r, results: list) -> str:
    """ "met", or what was missed and, where its measurements show it, why."""
    misses = goal_misses(r, results)
    if not misses:
        return "met"
    causes = goal_causes(r, results)
    return "not met: " + "; ".join(misses) + (". Why: " + "; ".join(causes) if causes else "")


def scale_cells(r, results: list) -> dict[str, str]:
    cpu_min = r.cpu_s_per_call_min
    capped = f", {r.capped} cut at the cap" if r.capped else ""
    return {
        "side": r.side,
        "calls": str(r.calls),
        "ok": f"{r.ok} / {r.calls - r.ok}{capped}",
        "turn": f"{_f(r.turn_p50_s)} / {_f(r.turn_p95_s)} / {_f(r.turn_p99_s)}"
        + (f" ({r.turns_unanswered} unanswered)" if r.turns_unanswered else ""),
        "overhead": f"{_f(r.overhead_p50_ms, 0)} / {_f(r.overhead_p95_ms, 0)}"
        + (f" ({r.overhead_measured}/{r.calls})" if r.overhead_measured < r.calls else ""),
        "underruns": f"{r.underruns} ({r.calls_with_underruns})",
        "jitter99": f"{_f(r.send_lateness_p99_ms, 1)} / {_f(r.jitter_p99_ms, 1)}",
        "srvlag": f"{_f(r.server_lag_p50_ms, 1)} / {_f(r.server_lag_p99_ms, 1)}",
        "cpumin": _f(cpu_min),
        "rss": f"{r.rss_idle_mb:.0f}→{r.server_rss_max_mb:.0f} ({r.rss_per_call_mb:.1f})",
        "healthy": f"{r.start_to_healthy_s:.2f}",
        "goals": goals_cell(r, results),
    }


def scale_table(results: list, markdown: bool = True) -> str:
    rows = [[title for _, title in SCALE_COLUMNS]] + [
        [scale_cells(r, results)[key] for key, _ in SCALE_COLUMNS] for r in results
    ]
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + "---|" * len(SCALE_COLUMNS))
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(len(SCALE_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def console_row(r) -> str:
    c = cells(r)
    extra = f"; errors {r.errors}" if r.errors else ""
    extra += f"; {r.timeouts} script timeouts" if r.timeouts else ""
    sc = scale_cells(r, [r])
    extra += "; " + ", ".join(f"{t}: {sc[k]}" for k, t in SCALE_COLUMNS[3:-1])
    return "  " + ", ".join(f"{title}: {c[key]}" for key, title in COLUMNS[2:]) + extra


def console_table(results: list) -> str:
    rows = [[title for _, title in COLUMNS]] + [
        [cells(r)[key] for key, _ in COLUMNS] for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: list) -> str:
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |"]
    lines.append("|" + "---|" * len(COLUMNS))
    for r in results:
        c = cells(r)
        lines.append("| " + " | ".join(c[key] for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def observations(results: list) -> list[str]:
    """Sentences drawn from the numbers (the fixed explanations are in `section`)."""
    out = []
    by = {(r.side, r.calls): r for r in results}
    for calls in sorted({r.calls for r in results}):
        ours, ref = by.get(("ours", calls)), by.get(("reference", calls))
        n = f"{calls} call{'s' if calls != 1 else ''}"
        if ours and ref:
            out.append(
                f"{n}: completed {ours.ok}/{calls} (ours) vs {ref.ok}/{calls} "
                f"(reference); Twilio's buffer held at most {_f(ours.max_buffer_max_s)} s vs "
                f"{_f(ref.max_buffer_max_s)} s; underruns {ours.underruns} vs {ref.underruns}; "
                f"barge-in to silence {_f(ours.barge_silence_p50_s)} s vs "
                f"{_f(ref.barge_silence_p50_s)} s (p50); server CPU {ours.server_cpu_s:.1f} s "
                f"vs {ref.server_cpu_s:.1f} s."
            )
        for r in (ours, ref):
            if r is None:
                continue
            signs = row_causes(r)
            if r.calls - r.ok:
                signs.append(f"{r.calls - r.ok} call(s) failed")
            if r.llm_answers < r.calls:
                signs.append(
                    f"only {r.llm_answers} of {r.calls} questions reached the LLM before the "
                    "hang-up"
                )
            if r.calls_with_underruns:
                signs.append(f"{r.calls_with_underruns} call(s) heard underruns")
            if r.side == "ours" and (r.max_buffer_max_s or 0) > 3 * LEAD_S:
                signs.append(
                    f"Twilio's buffer reached {r.max_buffer_max_s:.2f} s although the pacer's "
                    f"lead is {LEAD_S:.2f} s"
                )
            if signs:
                out.append(f"{r.side} at {n}: " + "; ".join(signs) + ".")
    # Capacity: CPU per second of call at the busiest level that did not saturate.
    for side in ("ours", "reference"):
        fine = [
            r
            for r in results
            if r.side == side
            and r.wall_s
            and r.server_cpu_s / r.wall_s < 0.85
            and r.calls > 1
            and r.ok == r.calls  # a collapsed server does less work per call, not more
        ]
        if fine and fine[-1].call_seconds:
            r = fine[-1]
            per_s = r.server_cpu_s / r.call_seconds
            out.append(
                f"{side}: {per_s * 1000:.0f} ms of server CPU per second of call at {r.calls} "
                f"calls, so one event loop (one core) saturates at about {1 / per_s:.0f} "
                "concurrent calls on this machine."
            )
    return out


MAX_CALL_S_NOTE = (
    "70 s after the first one started, plus the stagger (35 s in the engine-overhead run; "
    "a call's own limit is 60 s)"
)


def section(command: str, results: list) -> str:
    facts = machine_facts()
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    machine = (
        f"{facts['nproc']} CPUs ({facts['cpu']}), {facts['os']}, Python {facts['python']}, "
        f"pipecat {facts['pipecat']}"
    )
    notes = "\n".join(f"- {line}" for line in observations(results))
    return f"""## Scale and pacing: our server vs pipecat's own Twilio transport

- command: `{command}`
- date: {now}
- machine: {machine}
- load: 1-minute load average before→after each run is in the second table; "other CPU s"
  is what the rest of the machine (other engineers' tests, the OS) used during the run;
  "machine speed" is how many ms a fixed pure-Python loop took before→after the run
  (`harness.machine_speed_ms`, ~40 on a quiet machine of these): this virtual machine's
  share of its cores varies with its neighbours, which neither other column shows, and
  every number of a run taken at a higher figure is slower.

### Scale: the issue's goals at each level

{scale_table(results)}

- **goals** (issue 7, checked on every row, both sides): no failed calls and zero
  underruns; p95 turn latency within 10% of the same side's 1-call p95; jitter p99 ≤
  {GOAL_JITTER_P99_MS:.0f} ms; RSS ≤ {GOAL_RSS_PER_CALL_MB:.0f} MB per call; and, for ours, CPU per call-minute at most half the
  reference's at the same level. "met", or each goal missed with the measured value,
  then why, where the row's own measurements show it (`report.goal_causes`): the server
  past {SATURATED_SHARE:.0%} of a core with its loop waking ≥ {LATE_LOOP_MS:.0f} ms late at p99; its input behind
  real time (caller audio → STT below 99%); for a CPU miss, reference calls that failed;
  other processes using ≥ {CONTENDED_SHARE:.0%} of a core; a machine speed ≥ {SLOW_MACHINE_MS:.0f} ms; the emulator's
  loop ≥ {BENCH_LAG_MS:.0f} ms late at p99.
- **turn latency**: every caller turn of every measured call (the question and the
  barge-in), from the end of the caller's speech to the first agent audio the caller hears
  after it (`agent.sim.turns.turn_latencies`; failed calls included, unanswered turns
  counted). The fakes' latencies alone make 0.9 s: VAD stop 0.2 s + speech timeout 0.4 s
  (Deepgram's 0.25 s final runs inside it) + Groq 0.2 s + Cartesia 0.1 s.
- **engine overhead**: a separate run on the same server before the measured calls, the
  same number of calls at once, a short script (greeting, the question, a one-sentence
  answer) with zero-latency LLM and TTS fakes and the Deepgram fake answering the STT's
  finalize 0.5 s after the VAD stop, i.e. after the speech timeout, so the final transcript
  is what ends the turn: caller speech end → first answer audio heard, minus 0.2 s (VAD
  stop) + 0.5 s. That is final transcript → first audio at the caller, measured the same
  way from outside both servers: aggregator, router (ours), LLM request and stream, TTS
  request and audio, pacing, the socket, the fakes' localhost round trips, plus Silero's
  32 ms window granularity. In parentheses: calls of that run whose answer was measured, when
  not all were. The warm-up call before both runs takes a whole turn: a fresh server's first
  answered turn is ~0.3 s slower on both sides (first use of the LLM and TTS clients).
- **jitter p99, pacer send / at the caller**: *pacer send* is the goal's "pacer send
  jitter", measured inside our server (`switchboard_pacer_send_lateness_seconds` on
  `/metrics`): how late each 20 ms chunk left the pacer against its play-out clock (or
  against its arrival from the TTS, when the TTS was behind the clock); the reference has
  no pacer ("–"), so its goal is judged on the other number. *At the caller* is what the
  emulator measured on arrival (definition under "Pacing detail"); it also holds the
  emulator's own loop lag ("bench lag" there), which grows with the number of calls the
  emulator plays on the same two cores.
- **server loop lag**: the server process's own event loop, sampled by the same opt-in
  probe in both servers (`SWITCHBOARD_LOOP_LAG_PROBE=1`, agent/app/loop_lag.py: how late a 10 ms
  sleep wakes up, a histogram on `/metrics`), during the measured calls; percentiles
  interpolated within the histogram's buckets.
- **CPU s / call-min**: server-process CPU seconds during the measured calls / the calls'
  summed length in minutes (what the callers streamed).
- **RSS**: the server process's resident memory idle after the warm-up call, its peak
  during the two runs of N calls (sampled every 0.5 s), and (peak − idle) / N.
- **start→healthy**: spawn of the process → first `GET /health` 200 (polled every 50 ms).
  Ours builds every graph (imports, VAD and router models) before it listens; the reference
  answers `/health` before pipecat is even imported and pays that on its first call.
- Each level is capped: calls still running {MAX_CALL_S_NOTE} are cancelled and count as
  failed ("cut at the cap"), so a collapsed level still ends in bounded time.

### Pacing detail

{markdown_table(results)}

What was measured. Both servers answer the same scripted call from the Twilio emulator
(`agent.sim.emulator`) against the same provider fakes, one side and one level at a time, the
server in its own process: greeting; "I would like to book an appointment for tomorrow"; a
7.9 s answer from the LLM and TTS; 2 s into what the caller hears of it, "wait stop"; "Okay, I
will stop."; hang-up. Calls start spread over 2 s after one warm-up call. The question is one
our receptionist graph's intent router does not answer from cached audio, so both sides
answer it through the LLM and the TTS (checked every run); ours plays its greeting from the
pre-rendered cache, the reference through the TTS.

- **jitter**: |inter-arrival − audio length of the earlier message| of the `media` messages
  in each continuous run of agent audio (a run ends when the caller starts speaking or a
  `clear` arrives), skipping each run's first {PRIME_S * 1000:.0f} ms of audio (our pacer deliberately
  sends its {LEAD_S * 1000:.0f} ms lead at once). Ours sends 20 ms messages, so this is |inter-arrival − 20 ms|;
  pipecat's transport sends 40 ms messages (`audio_out_10ms_chunks=4`). **msg ms, send rate**:
  the typical message length and the audio delivered per wall-clock second over those runs
  (1.00 = real time). **max buffer**: the most audio ever queued at Twilio ahead of playback
  (the emulator's own stalls, "bench lag", can make it read up to that much too high).
- **ok / failed**: a call is ok when the conversation went as scripted: no script step timed
  out, the caller hung up, the answer began 0.5–5 s after the question, and `clear` came
  within 2 s of the barge-in.
- **underruns**: gaps shorter than 400 ms inside an utterance in what the emulator played.
- **barge→clear**: from the first frame of the caller's "wait stop" to Twilio receiving
  `clear`; **barge→silent**: to the end of the last agent audio the caller heard. Both
  include Silero needing `start_secs` (0.2 s) plus its window of speech before it reports
  speech; the raw numbers are shown, nothing subtracted.
- **caller audio → STT**: seconds of caller audio (speech and silence) the server forwarded
  to Deepgram before the call ended, as a share of what the caller streamed: below 100% the
  server's input path (transport, VAD, STT) has fallen behind real time and never caught up.
  **questions → LLM**: calls whose question reached the LLM before the call ended.
- **answer latency**: end of the question's audio to the answer's first audio at the caller
  (VAD stop 0.2 s + speech timeout 0.4 s + Deepgram final 0.25 s + Groq 0.2 s + Cartesia 0.1 s).
- **CPU**: seconds used during the measured calls by the server process alone (psutil), by the
  benchmark process (provider fakes + emulator, getrusage), and by everything else (/proc/stat).
  "% core" is server CPU / wall time: each server is one asyncio event loop, so near 100% it
  is saturated whatever the machine's core count; "s/call" is server CPU / calls. Once a server
  is saturated its calls fall behind real time, the scripted caller falls out of step (it may
  take a gap in a stuttering greeting for its end): answer latency is shown for ok calls
  only; barge-in times for every call where a `clear` followed the barge-in (however late).

Differences between the sides other than pacing: ours puts the VAD in the chain before STT,
the reference puts it in the user aggregator (pipecat's example layout; both broadcast the
VAD frames, and both use the same VAD parameters and the same turn strategy: VAD or
transcription starts a turn, a 0.4 s speech timeout ends it); ours sends Twilio marks (every
250 ms and at sentence/utterance ends) and tracks what was heard, runs every transcript
through its intent router, offers the LLM an `end_call` tool, records every call and
turn in a database and extracts the caller's details with a second LLM request after each
answer; ours sends 20 ms messages, twice as many as the reference's 40 ms ones; every
inbound frame passes two more processors (call controller, VAD) and Silero before ours'
STT sees it, while the reference's STT sees it first; the reference runs on
uvicorn/FastAPI, ours on aiohttp, both on uvloop. Neither checks Twilio signatures here.

Pacing, as measured with pipecat {facts["pipecat"]}: its `FastAPIWebsocketOutputTransport` does
*not* send at twice real time. It sleeps `(audio_chunk_size / sample_rate) / 2` after each
chunk, and `audio_chunk_size` is in bytes of 16-bit PCM, so the sleep equals the chunk's
duration: 40 ms of audio every 40 ms (send rate 1.00, Twilio buffer ≤ 0.10 s unloaded). So at
low load both sides stop the agent equally fast after a barge-in. The differences are in
how each clock reacts to being late: pipecat's restarts from "now" after any late write (a
stall longer than one chunk becomes a gap: underruns as soon as the loop is busy), ours keeps
an absolute clock with a {LEAD_S * 1000:.0f} ms lead (stalls shorter than the lead cost nothing: a
full garbage collection at 100 calls stops the process for ~100 ms). Ours writes each chunk
to the socket itself, pipecat's transport after its output queues; so Twilio's buffer
holds about the lead on our side (a little more when the loop catches up after a stall)
and about one chunk on the reference's.

Observations from this run:

{notes}
"""


def update_results(path: Path, command: str, results: list, name: str = "pacing") -> None:
    write_section(path, name, section(command, results))


def write_section(path: Path, name: str, body: str) -> None:
    """Replace (or append) RESULTS.md's `<!-- name:start -->` ... `<!-- name:end -->`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body}{end}\n"
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text)

"""Faster turns (issue 21): a turn's stages, speculation's waste and mid-sentence pauses.

    python -m bench.turns [--calls 1 10] [--modes standard deepgram] [--sides today words
        speculative reference] [--sequential 5] [--json PATH] [--answer TEXT]
        [--tokens-per-s 280] [--env KEY=VALUE ...] [--label TEXT]

Each (fake mode, side, level) runs alone against fresh provider fakes in this process
(`agent.sim.fakes`, the bench's latencies: Deepgram final 0.25 s after the finalize, Groq
first token 0.2 s then `--tokens-per-s` (default the fake's, Groq's published 280 tokens/s
for llama-3.3-70b-versatile; 0: each answer in one burst, as before 2026-12-07), Cartesia
first audio 0.1 s) and a server in a subprocess
(bench/harness.py). The call: greeting; "I would like to book an appointment for
tomorrow"; its one-sentence answer; then "I'm calling about", 1 s of silence, "my bill from
March."; its answer; hang-up.

- sides: `today` is our receptionist graph as it waited before (TURN_END_BY_WORDS=false,
  SPECULATIVE_ANSWERS=false: 0.4 s after the VAD's stop, whatever the words); `words` the
  wait chosen by the words (processors/turn_end.py); `speculative` that plus the LLM asked
  at the VAD's stop (agent/adapters/listening_turns.py); `reference` pipecat's own Twilio server
  (bench/reference_server.py: its 0.4 s speech timeout).
- modes: `standard` is bench.pacing's Deepgram fake (interims grow at 3 words a second, so
  the last one lags the speech; the script unpunctuated); `deepgram` is closer to Deepgram
  with `punctuate`: the finals punctuated, and an interim with every word 0.15 s after the
  speech ends (`catch_up_interim_ms`), before the VAD's stop at 0.2 s; `flux` has Deepgram
  Flux decide the turns (USE_DEEPGRAM_FLUX: its fake ends a turn after 0.3 s of silence,
  predicts it (EagerEndOfTurn) after 0.15 s, each 0.25 s late), `speculative` answering the
  prediction; `today`/`words` are then the same graph, Flux without the eager answer.
- level 1 runs `--sequential` calls one after the other, and reports each stage of the
  question's turn, from the fakes' clocks (this process's event loop, the emulator's too):
  speech end → the VAD's stop (the Finalize our server sends the Deepgram fake) → the
  final transcript (sent by the fake) → the LLM request whose answer was spoken → its
  first token → the TTS request of the answer (when the turn is confirmed, for a
  speculative answer whose text came before: the gate releases it then) → first audio at
  the caller. The VAD and final columns are "–" with Flux. Higher levels start their calls over 2 s.
- `--answer` replaces the question's answer (first-clause TTS: the default answer's first
  clause, "Sure,", is one word, below `first_clause_min_words`); `--env` sets server
  settings on every side (e.g. TTS_FIRST_CLAUSE=false); `--label` names such a run's rows.
- columns: turn p50/p95 (the question's, speech end → first audio heard); LLM requests per
  caller sentence (two a call: 1.0 means nothing wasted and no half answered); speculative requests started / wasted (the server's
  /metrics); pause scene: calls whose agent spoke between the two halves (must be 0), and
  LLM requests whose context held the first half as a turn of its own (answered or split:
  must be 0; speculative requests on the words so far are not counted here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field

import aiohttp

from agent.sim.emulator import TwilioEmulator
from agent.sim.fakes import ProviderFakes
from agent.sim.fakes.groq import DEFAULT_TOKENS_PER_S
from agent.sim.result import CallResult
from agent.sim.script import (
    HangUp,
    Pause,
    Say,
    WaitForAgentAudio,
    WaitForAgentSilence,
    load_ulaw,
)
from agent.sim.turns import turn_latencies
from bench.harness import PUBLIC_HOST, log_dir, machine_speed_ms, start_server
from bench.pacing_call import AUDIO, QUESTION, QUESTION_AUDIO

ANSWER = "Sure, tomorrow at nine thirty works."
FIRST, SECOND = "I'm calling about", "my bill from March"
BILL_ANSWER = "Your March bill went out on the first."
PAUSE_S = 1.0
SIDES = {
    "today": {"TURN_END_BY_WORDS": "false", "SPECULATIVE_ANSWERS": "false"},
    "words": {"TURN_END_BY_WORDS": "true", "SPECULATIVE_ANSWERS": "false"},
    "speculative": {"TURN_END_BY_WORDS": "true", "SPECULATIVE_ANSWERS": "true"},
    "reference": {},
}
SPECULATION = "switchboard_speculative_llm_requests_total"
MODES = ("standard", "deepgram", "flux")


def configure(fakes: ProviderFakes, mode: str, tokens_per_s: float) -> None:
    fakes.deepgram.final_latency_s = 0.25
    fakes.groq.first_token_latency_s = 0.2
    fakes.groq.token_interval_s = 1.0 / tokens_per_s if tokens_per_s > 0 else 0.0
    fakes.cartesia.first_audio_latency_s = 0.1
    fakes.groq.replies = [("appointment", ANSWER), ("March", BILL_ANSWER)]
    fakes.flux.final_latency_s = 0.25
    if mode == "flux":
        fakes.flux.set_script([f"{QUESTION}.", f"{FIRST}", f"{SECOND}."])
    elif mode == "deepgram":
        fakes.deepgram.catch_up_interim_ms = 150
        fakes.deepgram.set_script([f"{QUESTION}.", f"{FIRST}", f"{SECOND}."])
    else:
        fakes.deepgram.catch_up_interim_ms = None
        fakes.deepgram.set_script([QUESTION, FIRST, SECOND])


def script() -> list:
    return [
        WaitForAgentAudio(timeout=20),
        WaitForAgentSilence(pause=0.3, timeout=30),
        Say(load_ulaw(AUDIO / QUESTION_AUDIO), QUESTION),
        WaitForAgentAudio(timeout=20),
        WaitForAgentSilence(pause=0.3, timeout=30),
        Say(load_ulaw(AUDIO / "who_are_you.ulaw"), FIRST),
        Pause(PAUSE_S),
        Say(load_ulaw(AUDIO / "how_much_does_it_cost.ulaw"), SECOND),
        WaitForAgentAudio(timeout=20),
        WaitForAgentSilence(pause=0.3, timeout=30),
        HangUp(),
    ]


@dataclass
class CallTurn:
    ok: bool
    latency: float | None = None
    speech_end: float | None = None  # event-loop time
    first_audio: float | None = None
    pause_wrong: bool = False


def analyse(result: CallResult) -> CallTurn:
    turns = turn_latencies(result)
    question = next((t for t in turns if t.text == QUESTION), None)
    says = {(rest[0], kind): t for kind, t, *rest in result.timeline if kind.startswith("say_")}
    first_start, second_start = says.get((FIRST, "say_start")), says.get((SECOND, "say_start"))
    wrong = (
        first_start is not None
        and second_start is not None
        and any(first_start < s < second_start for s, _ in result.agent_speech_segments)
    )
    if question is None or question.latency is None:
        return CallTurn(ok=False, pause_wrong=wrong)
    t0 = result.started_at
    return CallTurn(
        ok=not result.timeouts,
        latency=question.latency,
        speech_end=t0 + question.caller_end,
        first_audio=t0 + question.agent_start,
        pause_wrong=wrong,
    )


def stages(turn: CallTurn, fakes: ProviderFakes, groq_from: int) -> dict[str, float] | None:
    """One call's (alone on the server) question turn, stage by stage, from the fakes."""
    if turn.speech_end is None or turn.first_audio is None:
        return None
    ctx = next(
        (c for c in fakes.cartesia.contexts.values() if ANSWER in "".join(c.transcripts)), None
    )
    if ctx is None:
        return None
    asked = [
        (t, i)
        for i, t in enumerate(fakes.groq.request_times)
        if i >= groq_from and turn.speech_end - 0.5 < t < ctx.requested_at
    ]
    if not asked:
        return None
    request_at, index = asked[-1]
    token_at = next((t for t, i in fakes.groq.first_token_times if i == index), None)
    if token_at is None:
        return None
    after = turn.speech_end - 0.05
    vad_stop = next((t for t in fakes.deepgram.finalize_times if t > after), None)
    final = next((t for t, _ in fakes.deepgram.final_times if t > after), None)
    return {
        "vad_stop_s": -1.0 if vad_stop is None else vad_stop - turn.speech_end,
        "final_s": -1.0 if final is None else final - turn.speech_end,
        "llm_request_s": request_at - turn.speech_end,
        "first_token_s": token_at - turn.speech_end,
        "tts_request_s": ctx.requested_at - turn.speech_end,
        "tts_inputs": float(len(ctx.transcripts)),
        "first_audio_s": turn.first_audio - turn.speech_end,
        "llm_requests": float(len(asked)),
    }


async def speculation_counts(base_url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/metrics") as resp:
        text = await resp.text()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(SPECULATION + "{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            counts[outcome] = float(line.rsplit(" ", 1)[1])
    return counts


@dataclass
class Row:
    mode: str
    side: str
    calls: int
    label: str = ""
    ok: int = 0
    latencies: list[float] = field(default_factory=list)
    pause_wrong: int = 0
    stage_rows: list[dict] = field(default_factory=list)
    llm_requests: int = 0
    half_alone: int = 0  # LLM requests whose context had the first half as a turn of its own
    speculation: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    machine_speed_ms: float = 0.0


async def run(mode: str, side: str, calls: int, sequential: int, args) -> Row:
    row = Row(mode, side, calls, label=args.label, machine_speed_ms=machine_speed_ms())
    started = time.monotonic()
    async with ProviderFakes() as fakes:
        server_side = "reference" if side == "reference" else "ours"
        env = {**fakes.env(), **SIDES[side], **dict(kv.split("=", 1) for kv in args.env)}
        if mode == "flux":
            env["USE_DEEPGRAM_FLUX"] = "true"
        server = await start_server(server_side, env, log_dir())
        try:
            emulator = TwilioEmulator(server.base_url, public_base_url=f"https://{PUBLIC_HOST}")
            configure(fakes, mode, args.tokens_per_s)
            await emulator.place_call(script(), max_duration=60)  # warm-up: first uses
            await server.wait_idle(10)
            groq_before = len(fakes.groq.requests)
            before = {} if side == "reference" else await speculation_counts(server.base_url)
            if calls == 1:
                for _ in range(sequential):
                    groq_from = len(fakes.groq.requests)
                    fakes.cartesia.contexts.clear()
                    fakes.deepgram.finalize_times.clear()
                    fakes.deepgram.final_times.clear()
                    turn = analyse(await emulator.place_call(script(), max_duration=60))
                    row.ok += turn.ok
                    row.pause_wrong += turn.pause_wrong
                    if turn.latency is not None:
                        row.latencies.append(turn.latency)
                    if (staged := stages(turn, fakes, groq_from)) is not None:
                        row.stage_rows.append(staged)
            else:

                async def one(i: int) -> CallTurn:
                    await asyncio.sleep(2.0 * i / calls)
                    return analyse(await emulator.place_call(script(), max_duration=60))

                for turn in await asyncio.gather(*(one(i) for i in range(calls))):
                    row.ok += turn.ok
                    row.pause_wrong += turn.pause_wrong
                    if turn.latency is not None:
                        row.latencies.append(turn.latency)
            row.llm_requests = len(fakes.groq.requests) - groq_before
            row.half_alone = sum(
                any(
                    m.get("role") == "user" and str(m.get("content")).strip(" .") == FIRST
                    for m in request["messages"]
                )
                for request in fakes.groq.requests[groq_before:]
            )
            if side != "reference":
                after = await speculation_counts(server.base_url)
                row.speculation = {k: after[k] - before.get(k, 0.0) for k in after}
        finally:
            await server.stop()
    row.seconds = time.monotonic() - started
    return row


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "–" if value is None or value < 0 else pattern.format(value)


def side_of(row: Row) -> str:
    return f"{row.side} ({row.label})" if row.label else row.side


def markdown(rows: list[Row]) -> str:
    head = (
        "| fakes | side | calls | ok | turn p50 / p95 s | LLM requests per caller sentence "
        "| speculative: started / used / wasted | pause: first half answered "
        "| pause: LLM requests with the first half alone |"
    )
    lines = [head, "|" + " --- |" * 9]
    for r in rows:
        calls = r.calls if r.calls > 1 else len(r.latencies) or r.ok
        asked = r.llm_requests / max(1, 2 * (r.calls if r.calls > 1 else calls))
        spec = r.speculation
        wasted = sum(v for k, v in spec.items() if k.startswith("wasted_"))
        spec_cell = (
            f"{spec.get('started', 0):.0f} / {spec.get('confirmed', 0):.0f} / {wasted:.0f}"
            if spec
            else "–"
        )
        lines.append(
            f"| {r.mode} | {side_of(r)} | {r.calls if r.calls > 1 else f'1 (×{calls})'} "
            f"| {r.ok} | {fmt(quantile(r.latencies, 0.5))} / {fmt(quantile(r.latencies, 0.95))} "
            f"| {asked:.2f} | {spec_cell} | {r.pause_wrong} | {r.half_alone} |"
        )
    staged = [r for r in rows if r.stage_rows]
    if staged:
        lines += [
            "",
            "| fakes | side | speech end → VAD stop (Finalize) s | → final transcript s "
            "| → LLM request s | → first token s | → TTS request s "
            "| → first audio heard s | LLM requests in the turn | TTS inputs of the answer |",
            "|" + " --- |" * 10,
        ]
        for r in staged:
            med = {
                k: statistics.median(s.get(k, -1.0) for s in r.stage_rows) for k in r.stage_rows[0]
            }
            lines.append(
                f"| {r.mode} | {side_of(r)} | {fmt(med.get('vad_stop_s'))} "
                f"| {fmt(med.get('final_s'))} "
                f"| {med['llm_request_s']:.2f} | {med['first_token_s']:.2f} "
                f"| {med['tts_request_s']:.2f} | {med['first_audio_s']:.2f} "
                f"| {med['llm_requests']:.1f} | {fmt(med.get('tts_inputs'), '{:.0f}')} |"
            )
    return "\n".join(lines)


async def main_async(args) -> int:
    rows = []
    for calls in args.calls:
        for mode in args.modes:
            for side in args.sides:
                row = await run(mode, side, calls, args.sequential, args)
                rows.append(row)
                print(
                    f"{mode} {side} {calls}: ok {row.ok}, p50 {fmt(quantile(row.latencies, 0.5))}"
                    f" s, pause wrong {row.pause_wrong}, speculation {row.speculation} "
                    f"({row.seconds:.0f} s)",
                    file=sys.stderr,
                )
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as out:
            json.dump([asdict(r) for r in rows], out, indent=1)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--modes", nargs="+", default=["standard", "deepgram"], choices=MODES)
    parser.add_argument("--sides", nargs="+", default=list(SIDES), choices=list(SIDES))
    parser.add_argument("--sequential", type=int, default=5, help="calls at level 1")
    parser.add_argument("--json")
    parser.add_argument(
        "--answer", help="the question's answer (default: %(default)s)", default=ANSWER
    )
    parser.add_argument("--tokens-per-s", type=float, default=DEFAULT_TOKENS_PER_S)
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--label", default="", help="names this run's rows in the tables")
    parser.add_argument("--table", help="print the tables of an earlier run's --json and stop")
    args = parser.parse_args(argv)
    if args.table:
        with open(args.table) as saved:
            print(markdown([Row(**row) for row in json.load(saved)]))
        return 0
    globals()["ANSWER"] = args.answer  # configure() and stages() read it
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())

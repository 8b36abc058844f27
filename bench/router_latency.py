"""Time from a caller's final transcript to the first cached audio frame, in a real pipeline.

    python -m bench.router_latency                   # 300 routed turns, 1 and 20 calls at once
    python -m bench.router_latency --runs 500 --calls 1 --write
    python -m bench.router_latency --router encoder=minilm --router threshold=0.4   # a candidate

Each "call" is the receptionist graph's chain from the router on, built by the graph's own
builders: [router, LLM user aggregator, context window, Groq LLM service, Cartesia TTS
service], with the provider fakes in this process (nothing reaches them: a routed turn asks
neither the LLM nor the TTS). Frames are fed as in a call: VAD start, the user aggregator
starts the caller's turn, VAD stop, then the final `TranscriptionFrame`; where the pacer would
sit, a probe records the cached audio and plays the pacer's part (bot started/stopped
speaking once the turn is over), so the next turn is an idle one again.

Measured per turn, from the moment the transcript is pushed into the router:
- push: the router has pushed the first cached audio frame (seen by a probe right after it);
- at pacer: that frame arrived where the pacer sits, through the aggregator, the LLM and the
  TTS services (what the caller waits for; the pacer sends its first 20 ms chunk at once);
- in router: the router's own measurement (transcript in -> phrase pushed: embedding,
  matching, pushes), from `IntentRouter.hits`.
With `--calls N`, N such pipelines run turns at the same time in one event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.graph.build import ProcessCache  # noqa: E402 (after the path)
from agent.sim.turns import percentile  # noqa: E402 (after the path)

QUESTIONS = ["How much does it cost?", "Who am I talking to?", "What are your prices?"]


ROUTER: dict = {}  # --router KEY=VALUE: the router node's params changed for a candidate


def make_call(graph, config, shared):
    """One call's processors from the router on, plus the probes around them."""
    from pipecat.frames.frames import (
        BotStartedSpeakingFrame,
        BotStoppedSpeakingFrame,
        OutputAudioRawFrame,
        StartFrame,
        UserStoppedSpeakingFrame,
    )
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

    from agent.graph import BuildContext, CallInfo
    from agent.nodes.cartesia import build_tts
    from agent.nodes.groq import build_llm
    from agent.nodes.router import build_router

    ctx = BuildContext(config, graph, CallInfo("CAbench", "MZbench"), shared=shared)
    nodes = graph.nodes
    # The LLM node as in the graph, with a short turn-end wait so runs go quickly: it only
    # decides when the (already answered) turn is over, after the measured part.
    llm_params = nodes["llm"].params.model_copy(update={"user_speech_timeout_s": 0.05})
    params = nodes["router"].params.model_copy(update=ROUTER)
    router = build_router(params, ctx, "router").processors[0]
    llm = build_llm(llm_params, ctx, "llm")
    tts = build_tts(nodes["tts"].params, ctx, "tts").processors

    class Probe(FrameProcessor):
        def __init__(self, name, at_end=False):
            super().__init__(name=name)
            self.at_end = at_end
            self.audio_at: list[int] = []
            self.started = asyncio.Event()
            self.turn_over = asyncio.Event()

        async def process_frame(self, frame, direction):
            await super().process_frame(frame, direction)
            await self.push_frame(frame, direction)
            if isinstance(frame, OutputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
                self.audio_at.append(time.perf_counter_ns())
            elif isinstance(frame, StartFrame) and self.at_end:
                await self.played()
                self.started.set()
            elif isinstance(frame, UserStoppedSpeakingFrame) and self.at_end:
                await self.played()  # the phrase "played": the agent waits for the caller
                self.turn_over.set()

        async def played(self):
            up = FrameDirection.UPSTREAM
            await self.push_frame(BotStartedSpeakingFrame(), up)
            await self.push_frame(BotStoppedSpeakingFrame(), up)

    after, end = Probe("after-router"), Probe("at-pacer", at_end=True)
    processors = [router, after, *llm.processors, *tts, end]
    return router, after, end, processors


async def run_call(graph, config, shared, runs: int, results: dict, ready: asyncio.Barrier):
    from pipecat.frames.frames import (
        TranscriptionFrame,
        VADUserStartedSpeakingFrame,
        VADUserStoppedSpeakingFrame,
    )

    from agent.adapters import engine

    router, after, end, processors = make_call(graph, config, shared)
    worker = engine.make_worker(processors, name="bench-router")
    task = asyncio.create_task(engine.run_worker(worker))
    await asyncio.wait_for(end.started.wait(), 10)
    await ready.wait()
    for i in range(runs):
        end.turn_over.clear()
        before = len(end.audio_at)
        await worker.queue_frame(VADUserStartedSpeakingFrame(start_secs=0.2))
        await asyncio.sleep(0.02)  # the aggregator starts the turn; the router hears of it
        await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        await asyncio.sleep(0.005)
        frame = TranscriptionFrame(QUESTIONS[i % len(QUESTIONS)], "caller", "t", finalized=True)
        # Pushed straight into the router's queue: the clock starts as the transcript arrives.
        t0 = time.perf_counter_ns()
        await router.queue_frame(frame)
        await asyncio.wait_for(end.turn_over.wait(), 5)
        if len(end.audio_at) == before:
            results["missed"] += 1
            continue
        results["push"].append((after.audio_at[-1] - t0) / 1e6)
        results["pacer"].append((end.audio_at[-1] - t0) / 1e6)
        results["router"].append(router.hits[-1].seconds * 1000)
    from pipecat.frames.frames import EndFrame

    await worker.queue_frame(EndFrame())
    await asyncio.wait_for(task, 10)


async def measure(calls: int, runs: int) -> dict:
    from agent.config import Config
    from agent.graph import load_graph
    from agent.sim.fakes import ProviderFakes

    async with ProviderFakes() as fakes:
        env = {
            **fakes.env(),
            "GRAPHS_DIR": str(ROOT / "graphs"),
            "GROQ_API_KEY": "gsk-bench",
            "CARTESIA_API_KEY": "sk-bench",
            "DEEPGRAM_API_KEY": "dg-bench",
            "LOG_LEVEL": "WARNING",
        }
        config = Config.load(env=env, dotenv_path=None)
        graph = load_graph(ROOT / "graphs" / "receptionist.yaml", config)
        shared = ProcessCache()
        results = {"push": [], "pacer": [], "router": [], "missed": 0}
        ready = asyncio.Barrier(calls)
        await asyncio.gather(
            *(run_call(graph, config, shared, runs, results, ready) for _ in range(calls))
        )
        results["groq_requests"] = len(fakes.groq.requests)
        results["tts_contexts"] = len(fakes.cartesia.contexts)
        return results


def row(calls: int, r: dict) -> str:
    def stats(values):
        if not values:
            return "– / – / –"
        return (
            f"{statistics.median(values):.2f} / {percentile(values, 95):.2f} / "
            f"{percentile(values, 99):.2f}"
        )

    return (
        f"| {calls} | {len(r['pacer'])} | {stats(r['router'])} | {stats(r['push'])} | "
        f"{stats(r['pacer'])} | {max(r['pacer'], default=0):.2f} | {r['missed']} | "
        f"{r['groq_requests']} / {r['tts_contexts']} |"
    )


HEAD = [
    "| calls at once | routed turns | in router p50 / p95 / p99 ms | pushed p50 / p95 / p99 ms "
    "| at pacer p50 / p95 / p99 ms | at pacer max ms | not routed | LLM requests / TTS contexts |",
    "|---|---|---|---|---|---|---|---|",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="routed turns per call")
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--router", action="append", default=[], metavar="KEY=VALUE",
                        help="a router node param for a candidate (not with --write)")  # fmt: skip
    args = parser.parse_args(argv)
    import yaml

    for item in args.router:
        key, _, value = item.partition("=")
        ROUTER[key] = yaml.safe_load(value)
    if ROUTER and args.write:
        parser.error("--write records the graph as shipped; --router is for candidates")
    if ROUTER:
        print(f"router params changed: {ROUTER}")

    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    rows = []
    for calls in args.calls:
        runs = args.runs if calls == 1 else max(20, args.runs // calls)
        started = time.monotonic()
        result = asyncio.run(measure(calls, runs))
        rows.append(row(calls, result))
        print(f"{calls} call(s) x {runs} turns in {time.monotonic() - started:.1f} s")
    lines = [*HEAD, *rows]
    print("\n".join(lines))
    if args.write:
        from bench.router_results import machine_line, now_utc, write_part

        command = "python -m bench.router_latency --write" + (
            "" if (args.runs, args.calls) == (300, [1, 20]) else
            f" --runs {args.runs} --calls {' '.join(map(str, args.calls))}"
        )  # fmt: skip
        body = "\n".join(
            [
                "### Final transcript → first cached audio frame (`bench/router_latency.py`)",
                "",
                f"- command: `{command}`",
                f"- date: {now_utc()}; machine: {machine_line()}",
                "- in process: the receptionist graph's router, LLM user aggregator, context "
                "window, Groq and Cartesia services (built by the graph's builders, pointed at "
                "the provider fakes), turns fed as in a call (VAD start, the aggregator starts "
                "the turn, VAD stop, final transcript); with N calls, N pipelines take turns "
                "at the same time in one event loop (per call: runs / N turns, at least 20).",
                "- in router: transcript in → cached phrase pushed, measured by the router "
                "(embedding, matching, pushes); pushed: until a probe right after the router "
                "has the audio frame; at pacer: until it arrives where the pacer sits, through "
                "the aggregator, the LLM and the TTS services (the pacer sends its first 20 ms "
                "chunk at once). Target: under 10 ms at p95.",
                "",
                *lines,
            ]
        )
        write_part("router-latency", body)
        print("\nwrote the router-latency part of bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run the provider fakes standalone: ``python -m agent.sim.fakes --port 8765``.

Prints the environment variables that point Switchboard at them, then serves
until interrupted. ``--say`` scripts what the fake Deepgram hears (repeatable,
one line per utterance), so a manual call gets predictable transcripts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from .groq import DEFAULT_TOKENS_PER_S
from .server import ProviderFakes


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m agent.sim.fakes", description=__doc__)
    parser.add_argument(
        "--port", type=int, default=8765, help="port to listen on (0: any free port)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--say", action="append", default=[], metavar="TEXT", help="a line the fake STT hears"
    )
    parser.add_argument(
        "--final-latency", type=float, default=0.0, help="seconds before each STT final"
    )
    parser.add_argument(
        "--tokens-per-s",
        type=float,
        default=DEFAULT_TOKENS_PER_S,
        help="pace of the Groq fake's streamed answers (0: each answer in one burst)",
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    async with ProviderFakes(port=args.port, host=args.host) as fakes:
        if args.say:
            fakes.deepgram.set_script(args.say)
            fakes.flux.set_script(args.say)
        fakes.deepgram.final_latency_s = fakes.flux.final_latency_s = args.final_latency
        fakes.groq.token_interval_s = 1.0 / args.tokens_per_s if args.tokens_per_s > 0 else 0.0
        for name, value in fakes.env().items():
            print(f"export {name}={value}")
        print(f"# provider fakes listening on {fakes.http_url} (Ctrl-C to stop)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_serve(_parse(argv)))


if __name__ == "__main__":
    main()

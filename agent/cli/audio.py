"""`python -m agent audio build [--graph NAME] [--check]`: render the audio cache's phrases
(agent/phrases/build.py) for a graph's router and TTS; `--check` only lists what is missing
or stale (exit 1 if anything is)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from agent.cli.common import load_config
from agent.errors import GraphError
from agent.graph import load_named_graph
from agent.phrases.build import build


def add_arguments(audio: argparse.ArgumentParser) -> None:
    asub = audio.add_subparsers(dest="audio_cmd", required=True)
    audio_build = asub.add_parser(
        "build", help="render missing or stale phrases (TTS or source WAVs) into the cache"
    )
    audio_build.add_argument(
        "--graph", help="graph whose router and TTS to use (default: DEFAULT_GRAPH)"
    )
    audio_build.add_argument(
        "--check", action="store_true", help="only list missing or stale phrases (exit 1 if any)"
    )


def main(args: argparse.Namespace) -> int:
    return run(args.graph, args.check, load_config())


def run(graph_name: str | None, check: bool, config) -> int:
    """Load the graph (no keys needed unless the TTS must render) and build its phrases."""
    try:
        graph = load_named_graph(graph_name, config)
    except GraphError as exc:
        print(exc, file=sys.stderr)
        return 2
    return asyncio.run(build(graph, config, check=check))

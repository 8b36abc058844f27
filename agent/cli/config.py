"""`python -m agent config example|table`: the `.env.example` file or the README's table of
settings, both generated from the settings declared in agent/config.py."""

from __future__ import annotations

import argparse

from agent.config import render_env_example, render_markdown_table


def add_arguments(config: argparse.ArgumentParser) -> None:
    config.add_argument("what", choices=("example", "table"))


def main(args: argparse.Namespace) -> int:
    print(render_env_example() if args.what == "example" else render_markdown_table())
    return 0

"""`python -m agent`: serve, call, calls, campaign, dial, dnc, graph check|show|schema|test, doctor, config example|table, audio, route.

This module only parses and dispatches. Each command is one module under agent/cli/ with
`add_arguments(parser)` and `main(args) -> exit code`; `COMMANDS` below is the one table of
them. Only the chosen command's module is imported, lazily (`importlib`), so start-up pays
for that command alone: `graph check` imports neither pipecat nor any vendor SDK, and
`serve` is the only command that loads the app. A new command is a module and a row here.

Every command prints one clear line per problem and exits non-zero on failure; no command
prints a secret.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from typing import Protocol, cast


class CommandModule(Protocol):
    """What a command module provides."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def main(self, args: argparse.Namespace) -> int: ...


@dataclass(frozen=True)
class Command:
    module: str  # imported only when the command runs (or its --help is asked for)
    help: str

    def load(self) -> CommandModule:
        return cast(CommandModule, importlib.import_module(self.module))


COMMANDS: dict[str, Command] = {
    "serve": Command("agent.cli.serve", "run the HTTP/WebSocket server"),
    "graph": Command("agent.cli.graph", "check, draw or describe graph files"),
    "doctor": Command("agent.cli.doctor", "check configuration and provider credentials"),
    "config": Command("agent.cli.config", "print .env.example or the README config table"),
    "audio": Command("agent.cli.audio", "pre-render the phrases of the audio cache"),
    "route": Command("agent.cli.route", "score a sentence against the router's routes"),
    "calls": Command("agent.cli.calls", "list call records, or print one call's transcript"),
    "call": Command("agent.cli.call", "phone a running server as Twilio would, and show the call"),
    "campaign": Command("agent.cli.campaign", "call a list of numbers (run, resume, status, list)"),
    "dial": Command("agent.cli.dial", "place an outbound call (the agent calls a number)"),
    "dnc": Command("agent.cli.dnc", "the do-not-call list: add, remove, list"),
    # A sub-command with a module of its own (it loads the app; `graph check` must not).
    "graph test": Command("agent.cli.graph_test", "run the graphs' conversation tests"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command's name and help; the arguments of `command` (all when None)."""
    parser = argparse.ArgumentParser(prog="python -m agent", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, spec in COMMANDS.items():
        if " " in name:
            continue  # `graph test`: parsed on its own (main)
        command_parser = sub.add_parser(name, help=spec.help)
        if command is None or command == name:
            spec.load().add_arguments(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    pair = " ".join(argv[:2])
    if pair in COMMANDS:  # `graph test ...`
        spec = COMMANDS[pair]
        parser = argparse.ArgumentParser(prog=f"python -m agent {pair}", description=spec.help)
        module = spec.load()
        module.add_arguments(parser)
        return int(module.main(parser.parse_args(argv[2:])) or 0)
    # The command comes first; `python -m agent --help` (or no command) loads none.
    chosen = argv[0] if argv and argv[0] in COMMANDS else ""
    args = build_parser(chosen).parse_args(argv)
    return int(COMMANDS[args.command].load().main(args) or 0)

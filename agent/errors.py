"""Switchboard's error hierarchy.

    SwitchboardError
    ├── ConfigError            a setting is missing or invalid (names the variable)
    ├── DatabaseUnreachable    the call-record database did not answer (names DATABASE_URL's
    │                          host and port, never the password)
    ├── GraphError             a graph file is invalid (carries every GraphProblem found)
    │   └── GraphNotFound      a call or command named a graph that does not exist
    ├── ProviderError          a provider refused or failed (names the provider, never the key)
    ├── RoutesError            (agent/phrases/routes.py) a routes file is invalid
    └── TwilioProtocolError    a Twilio media-stream message could not be used (has a `reason`
                               label, used for the dropped-messages metric)

Errors never carry secrets: messages are built from variable names, not values.
"""

from __future__ import annotations

from dataclasses import dataclass


class SwitchboardError(Exception):
    """Base of every error Switchboard raises on purpose."""


class ConfigError(SwitchboardError):
    """A configuration value is missing or invalid."""


class DatabaseUnreachable(SwitchboardError):
    """The call-record database did not accept a connection (names host and port, no secret)."""


@dataclass(frozen=True)
class GraphProblem:
    """One problem found in a graph file, with where it is."""

    file: str
    location: str
    message: str
    severity: str = "error"
    # True when the file is fine but this machine cannot run it (a key or package missing):
    # the server then skips the graph instead of refusing to start (unless it is the default).
    unavailable: bool = False

    def __str__(self) -> str:
        where = f" {self.location}:" if self.location else ""
        return f"{self.file}: {self.severity}{where} {self.message}"


class GraphError(SwitchboardError):
    """A graph file failed validation; `problems` lists everything found, not just the first."""

    def __init__(self, problems: list[GraphProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class GraphNotFound(GraphError):
    """No graph file with that name."""

    def __init__(self, name: str, available: list[str], hint: str = ""):
        self.name = name
        self.available = available
        msg = f"unknown graph '{name}'"
        if hint:
            msg += f" (did you mean '{hint}'?)"
        msg += f"; available: {', '.join(available) or 'none'}"
        super().__init__([GraphProblem(file="graphs", location="", message=msg)])


class ProviderError(SwitchboardError):
    """A provider call failed; `provider` says which one."""

    def __init__(self, provider: str, message: str):
        self.provider = provider
        super().__init__(f"{provider}: {message}")


class TwilioProtocolError(SwitchboardError):
    """A Twilio media-stream message was malformed or out of order."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)

"""What every call shares in one server process: config, graphs, metrics, process-wide caches,
the live calls, and whether the server is draining. Kept apart from the routes so that every
route module and the call session can name it without importing the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web
from loguru import logger

from agent.app.gc_tuning import CallFreezer
from agent.app.metrics import Metrics
from agent.config import Config
from agent.graph import Graph

if TYPE_CHECKING:
    from agent.app.call_session import CallSession


@dataclass
class Services:
    """Everything a call needs from the process, shared by all calls."""

    config: Config
    graphs: dict[str, Graph]
    metrics: Metrics = field(default_factory=Metrics)
    shared: dict = field(default_factory=dict)  # process-wide caches (models, sessions)
    calls: set[CallSession] = field(default_factory=set)
    draining: bool = False
    # Set by `serve` (agent/app/gc_tuning.py): live calls' objects kept out of collections.
    gc: CallFreezer | None = None

    def graph_for(self, name: str | None) -> Graph:
        """The named graph, or the default one (an unknown name is logged and counted)."""
        if name and name in self.graphs:
            return self.graphs[name]
        if name:
            logger.warning(f"stream asked for unknown graph {name!r}; using the default")
            self.metrics.calls_rejected.labels("unknown_graph_defaulted").inc()
        return self.graphs[self.config.default_graph]


SERVICES = web.AppKey("services", Services)

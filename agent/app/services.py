"""What every call shares in one server process, as typed fields: config, graphs, metrics, the
Twilio REST client, the call records runtime, the node builders' process cache, the live
calls, the tracer (when traces are on), whether the server is draining, the wall clock
business hours are read on, the number → graph map, the warm transfers in progress and the
call watchers (the dashboard's live board). Kept apart from the routes so that
every route module and the call session can name it without importing the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web
from loguru import logger

from agent.app.gc_tuning import CallFreezer
from agent.app.metrics import Metrics
from agent.app.outbound_calls import AmdResults
from agent.app.warm_registry import WarmTransfers
from agent.config import Config
from agent.graph import Graph
from agent.graph.build import ProcessCache
from agent.graph.hours import SYSTEM_WALL_CLOCK, WallClock
from agent.graph.lines import number_map
from agent.recording.service import Recordings
from agent.records.runtime import RecordsRuntime
from agent.telemetry import Tracing
from agent.twilio.rest import TwilioRestClient
from processors.turn_end import SPECULATION_STATS_KEY, SpeculationStats

if TYPE_CHECKING:
    from agent.app.call_session import CallSession
    from agent.app.call_watch import CallWatcher


@dataclass
class Services:
    """Everything a call needs from the process, shared by all calls."""

    config: Config
    graphs: dict[str, Graph]
    twilio: TwilioRestClient  # hang-ups now; call updates, outbound calls, messages later
    metrics: Metrics = field(default_factory=Metrics)
    cache: ProcessCache = field(default_factory=ProcessCache)  # node models, sessions, routes
    # Started before the first call when a graph records calls or ADMIN_TOKEN is set
    # (agent/app/server.py), None otherwise.
    records: RecordsRuntime | None = None
    # Call recordings (agent/recording): opened with the server (agent/app/server.py).
    recordings: Recordings | None = None
    calls: set[CallSession] = field(default_factory=set)
    draining: bool = False
    # Set by `serve` (agent/app/gc_tuning.py): live calls' objects kept out of collections.
    gc: CallFreezer | None = None
    # Business hours are decided on this clock (agent/app/answering.py); tests pin it.
    wall_clock: WallClock = SYSTEM_WALL_CLOCK
    # The phone numbers the graphs answer: number -> graph name (agent/graph/lines.py).
    numbers: dict[str, str] = field(default_factory=dict)
    # Warm transfers in progress, where a caller's call and the person's leg meet
    # (agent/app/warm_registry.py).
    warm: WarmTransfers = field(default_factory=WarmTransfers)
    # Told of every call's start, turns and end (agent/app/call_watch.py): the dashboard's
    # live board when ADMIN_TOKEN is set (agent/dashboard/live.py); none otherwise.
    watchers: list[CallWatcher] = field(default_factory=list)
    # Traces (agent/telemetry): set at start when an OTLP endpoint is configured, else None
    # (nothing is attached to a call).
    tracing: Tracing | None = None
    # Outbound calls: Twilio's AMD results as they arrive, for the calls' streams
    # (agent/app/outbound_calls.py).
    amd: AmdResults = field(default_factory=AmdResults)

    def __post_init__(self) -> None:
        # Speculative LLM requests of every call (processors/turn_end.py), on /metrics.
        stats = self.cache.get_or_create(SPECULATION_STATS_KEY, SpeculationStats)
        self.metrics.watch_speculation(stats)

    @classmethod
    def for_config(cls, config: Config, graphs: dict[str, Graph]) -> Services:
        """The services of a process serving `graphs` (nothing started yet)."""
        token = config.twilio_auth_token.reveal() if config.twilio_auth_token else None
        twilio = TwilioRestClient(config.twilio_account_sid, token, config.twilio_api_base_url)
        return cls(config=config, graphs=graphs, twilio=twilio, numbers=number_map(graphs))

    def graph_for(self, name: str | None) -> Graph:
        """The named graph, or the default one (an unknown name is logged and counted)."""
        if name and name in self.graphs:
            return self.graphs[name]
        if name:
            logger.warning(f"stream asked for unknown graph {name!r}; using the default")
            self.metrics.calls_rejected.labels("unknown_graph_defaulted").inc()
        return self.graphs[self.config.default_graph]


SERVICES = web.AppKey("services", Services)

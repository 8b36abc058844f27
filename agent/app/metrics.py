"""Prometheus metrics for one server process (`GET /metrics`).

Each app gets its own `CollectorRegistry`, so tests can run many apps in one process
without "duplicated timeseries" errors and read exact values back.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from agent.app.loop_lag import BUCKETS as LOOP_LAG_BUCKETS
from processors.turn_end import WASTE_REASONS, SpeculationStats

PACER_SEND_LATENESS = "switchboard_pacer_send_lateness_seconds"
# Late sends: the same buckets as the loop's own lag (fine below 5 ms, the pacing goal; at
# scale a send is as late as the loop, so the two histograms read side by side).
SEND_LATENESS_BUCKETS = LOOP_LAG_BUCKETS
TURN_LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


class Metrics:
    """The server's counters, gauges and histograms."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.active_calls = Gauge("switchboard_active_calls", "Calls in progress", registry=r)
        self.calls = Counter(
            "switchboard_calls", "Finished calls by outcome", ["outcome"], registry=r
        )
        self.calls_rejected = Counter(
            "switchboard_calls_rejected",
            "Calls refused before a pipeline was built, by reason",
            ["reason"],
            registry=r,
        )
        self.twilio_messages = Counter(
            "switchboard_twilio_messages_received",
            "Twilio media-stream messages received, by event",
            ["event"],
            registry=r,
        )
        self.twilio_dropped = Counter(
            "switchboard_twilio_messages_dropped",
            "Twilio media-stream messages dropped, by reason",
            ["reason"],
            registry=r,
        )
        self.webhook_requests = Counter(
            "switchboard_webhook_requests",
            "TwiML webhook requests, by result",
            ["result"],
            registry=r,
        )
        self.turn_latency = Histogram(
            "switchboard_turn_latency_seconds",
            "Caller stopped speaking to agent audio started",
            buckets=TURN_LATENCY_BUCKETS,
            registry=r,
        )
        self.pacer_send_lateness = Histogram(
            PACER_SEND_LATENESS,
            "How late each 20 ms chunk of agent audio left the pacer, against its play-out "
            "clock (or its arrival from the TTS, when that was later)",
            buckets=SEND_LATENESS_BUCKETS,
            registry=r,
        )
        self.provider_errors = Counter(
            "switchboard_provider_errors",
            "Errors reported by provider services",
            ["service"],
            registry=r,
        )
        # call records (agent/records), extraction (agent/records/extraction.py), record delivery
        self.records_written = Counter(
            "switchboard_records_written", "Call record events written", registry=r
        )
        self.record_errors = Counter(
            "switchboard_record_errors",
            "Call record events lost, by reason (queue_full, write_failed)",
            ["reason"],
            registry=r,
        )
        self.records_expired = Counter(
            "switchboard_records_expired",
            "Calls whose records RECORDS_RETENTION_DAYS deleted",
            registry=r,
        )
        self.extractions = Counter(
            "switchboard_extractions",
            "Background extractions, by result (ok, retried, failed, dropped)",
            ["result"],
            registry=r,
        )
        self.record_deliveries = Counter(
            "switchboard_call_webhooks",
            "Call webhook deliveries, by result (ok, retried, failed)",
            ["result"],
            registry=r,
        )
        # call recordings (agent/recording)
        self.recordings = Counter(
            "switchboard_recordings",
            "Call recordings, by result (saved, failed)",
            ["result"],
            registry=r,
        )
        self.recording_errors = Counter(
            "switchboard_recording_errors",
            "Recording file failures, by reason (open_failed, write_failed, close_failed); "
            "the call goes on",
            ["reason"],
            registry=r,
        )
        self.recordings_deleted = Counter(
            "switchboard_recordings_deleted",
            "Recordings deleted by RECORDING_RETENTION_DAYS",
            registry=r,
        )

        # Labelled children resolved once: a media message arrives 50 times a second per call,
        # and `labels()` takes a lock and builds a key on every call.
        self._twilio_message_counters: dict[type, Counter] = {}

    def count_twilio_message(self, event: object) -> None:
        """Count one received Twilio message by its event type (Media -> "media")."""
        kind = type(event)
        counter = self._twilio_message_counters.get(kind)
        if counter is None:
            counter = self.twilio_messages.labels(kind.__name__.lower())
            self._twilio_message_counters[kind] = counter
        counter.inc()

    def watch_speculation(self, stats: SpeculationStats) -> None:
        """Expose the process's speculative LLM requests (processors/turn_end.py)."""
        self.registry.register(_SpeculationCollector(stats))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """Current value of a sample (tests and /health use it); 0 when absent."""
        found = self.registry.get_sample_value(name, labels or None)
        return float(found or 0.0)


class _SpeculationCollector(Collector):
    """`switchboard_speculative_llm_requests_total{outcome}`: started, confirmed (the answer
    was said), and wasted_<reason> (resumed, differs, withdrawn, unresolved)."""

    def __init__(self, stats: SpeculationStats):
        self._stats = stats

    def collect(self):
        family = CounterMetricFamily(
            "switchboard_speculative_llm_requests",
            "LLM requests started before the caller's turn was certain, by outcome",
            labels=["outcome"],
        )
        family.add_metric(["started"], self._stats.started)
        family.add_metric(["confirmed"], self._stats.confirmed)
        for reason in WASTE_REASONS:
            family.add_metric([f"wasted_{reason}"], self._stats.wasted[reason])
        yield family

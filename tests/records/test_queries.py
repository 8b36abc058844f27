"""Listing calls by number, failure and extracted field, and the Health page's numbers, on
SQLite and Postgres alike."""

from __future__ import annotations

from datetime import timedelta

from agent.records.stats import health, percentile
from agent.records.store import Store
from tests.dashboard.conftest import T0, seeded_events


async def _sids(store: Store, **filters) -> list[str]:
    calls, total = await store.list_calls(**filters)
    assert total == len(calls)
    return [c["call_sid"] for c in calls]


async def test_calls_filter_by_number_failure_and_extracted_field(database_url):
    store = await Store.open(database_url)
    try:
        await store.apply(seeded_events())
        assert await _sids(store) == ["CAcccc0003", "CAaaaa0001", "CAbbbb0002"]
        assert await _sids(store, number="9998") == ["CAbbbb0002"]
        assert await _sids(store, number="0002222") == ["CAcccc0003", "CAaaaa0001", "CAbbbb0002"]
        assert await _sids(store, number="bbbb") == ["CAbbbb0002"]  # a CallSid too
        assert await _sids(store, number="%") == []  # LIKE's wildcards are literal
        assert await _sids(store, failure="any") == ["CAaaaa0001"]
        assert await _sids(store, failure="llm") == ["CAaaaa0001"]
        assert await _sids(store, failure="llm:timeout") == ["CAaaaa0001"]
        assert await _sids(store, failure="tts") == []
        assert await _sids(store, field="name") == ["CAaaaa0001"]
        assert await _sids(store, field="name", value="lovelace") == ["CAaaaa0001"]
        assert await _sids(store, field="name", value="babbage") == []
        assert await _sids(store, field="email") == []
        assert await _sids(store, failure="any", outcome="agent_hung_up") == []
        since = T0 - timedelta(hours=1)
        assert await _sids(store, since=since, number="555") == ["CAcccc0003", "CAaaaa0001"]
    finally:
        await store.close()


async def test_health_counts_calls_latency_and_failures_by_hour(database_url):
    store = await Store.open(database_url)
    try:
        await store.apply(seeded_events())
        stats = await health(store, T0 - timedelta(hours=3), T0 + timedelta(hours=1))
        assert [h.calls for h in stats.hours] == [0, 1, 0, 2]
        assert sorted(stats.hours[3].latencies) == [310.0, 640.0, 1200.0]
        assert stats.calls == 3
        assert stats.outcomes == {"caller_hung_up": 1, "agent_hung_up": 1, None: 1}
        assert stats.failures == {("receptionist", "llm", "timeout"): 1}
        # a window longer than a week is cut to the last week
        wide = await health(store, T0 - timedelta(days=30), T0 + timedelta(hours=1))
        assert len(wide.hours) == 7 * 24 and wide.calls == 3
    finally:
        await store.close()


def test_percentiles_are_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.95) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (50.0, 95.0)

"""agent/records/extraction.py at shutdown: jobs already queued still run (within a bound), so a call
that ended just before a deploy keeps its last snapshot; past the bound they are counted."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.config import Config
from agent.records.extraction import CallExtraction, Extractor, Lead
from agent.records.turns import Turn


def extraction_config(fakes) -> Config:
    env = {**fakes.env(), "GROQ_API_KEY": "gsk-test-key-123"}
    return Config.load(env=env, dotenv_path=None)


def call(sid: str) -> CallExtraction:
    now = datetime.now(UTC)
    turns = [
        Turn(0, "caller", "Hi, this is Ana Lopez, call me back on 555 0100.", now, now),
        Turn(1, "agent", "Sure, someone will call you back today.", now, now, source="llm"),
    ]
    return CallExtraction(sid, "lead", Lead, "llama-3.3-70b-versatile", 5.0, 0, turns=turns)


async def test_queued_jobs_finish_before_the_extractor_stops(fakes):
    fakes.groq.extraction_latency_s = 0.3
    extractor = Extractor(extraction_config(fakes), workers=1)
    extractor.start()
    calls = [call(f"CA{i}") for i in range(3)]
    for c in calls:
        extractor.submit(c)
    await extractor.close(timeout=5.0)  # 3 jobs one after another: ~1 s
    assert len(fakes.groq.extraction_requests) == 3
    assert all(c.seq == 1 and not c.queued and not c.running for c in calls)


async def test_jobs_past_the_bound_are_dropped_not_awaited(fakes):
    fakes.groq.extraction_latency_s = 2.0
    extractor = Extractor(extraction_config(fakes), workers=1)
    extractor.start()
    for i in range(3):
        extractor.submit(call(f"CA{i}"))
    import time

    started = time.monotonic()
    await extractor.close(timeout=0.5)
    assert time.monotonic() - started < 1.5  # bounded: a deploy is not held up

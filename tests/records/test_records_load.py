"""50 calls at once through one `python -m agent serve` process: every call's record is
complete and holds only its own turns (SQLite: one writer task, batched commits)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from agent.records.store import Store
from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio
from tests.e2e.test_serve_process import Server, process_env

CALLS = 50
GREETING = "Thanks for calling Acme. How can I help?"


async def test_fifty_concurrent_calls_write_complete_unmixed_records(fakes, tmp_path):
    fakes.deepgram.set_script(["yes"])
    fakes.groq.replies = [("yes", "Great, noted.")]
    database_url = f"sqlite:///{tmp_path}/calls.db"
    env = process_env(fakes, DATABASE_URL=database_url, LOG_LEVEL="INFO", MAX_CALLS="0")
    server = await Server(env, tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            await server.wait_healthy(http)
        emulator = server.emulator()
        script = [
            WaitForAgentAudio(timeout=40),
            WaitForAgentSilence(pause=0.1, timeout=40),
            Say(caller_audio("yes"), "yes"),
            WaitForAgentAudio(timeout=40),
            WaitForAgentSilence(pause=0.1, timeout=40),
            HangUp(),
        ]
        started = time.monotonic()
        results = await asyncio.gather(
            *[
                emulator.place_call(script, from_=f"+1555000{i:04d}", max_duration=90)
                for i in range(CALLS)
            ]
        )
        took = time.monotonic() - started
        assert all(not r.timeouts for r in results), [r.timeouts for r in results if r.timeouts]
    finally:
        # SIGTERM: the server drains, then writes what is queued before it exits
        if server.proc and server.proc.returncode is None:
            import signal

            server.proc.send_signal(signal.SIGTERM)
            assert await server.wait(60) == 0, server.output[-3000:]

    store = await Store.open(database_url)
    try:
        listed, total = await store.list_calls(limit=100)
        records = {r.call_sid: await store.get_call(r.call_sid) for r in results}
    finally:
        await store.close()
    assert total == CALLS and {c["call_sid"] for c in listed} == set(records)
    for i, result in enumerate(results):
        record = records[result.call_sid]
        assert record["from"] == f"+1555000{i:04d}", record
        assert record["stream_sid"] == result.stream_sid
        assert record["outcome"] == "caller_hung_up"
        turns = record["turns"]
        assert [t["seq"] for t in turns] == list(range(len(turns))) == list(range(3)), turns
        assert [(t["role"], t["text"]) for t in turns] == [
            ("agent", GREETING),
            ("caller", "yes"),
            ("agent", "Great, noted."),
        ], turns
        assert record["turn_count"] == 3
    [stats] = [
        line
        for line in server.output.splitlines()
        if "call records: " in line and "written" in line
    ]
    assert " 0 lost" in stats, stats
    print(
        f"\n{CALLS} concurrent calls in {took:.1f}s; all records complete; {stats.split('call records: ')[1]}"
    )

"""Call records end to end: a real call through the emulator, then its record over HTTP and
the CLI, on SQLite and on a real Postgres (tests/records/conftest.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime

import aiohttp

from agent.records.store import CallStarted, Store
from agent.sim.fakes.groq import is_extraction
from agent.sim.script import HangUp, Pause, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import ROOT, caller_audio

NOW = datetime.now(UTC)

TOKEN = "admin-token-for-tests-123"
HOURS = "what are your opening hours"
ANSWER = "We're open from nine to five, Monday to Friday."
COST = "how much does it cost"


async def wait_for(predicate, timeout: float = 10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value or loop.time() > deadline:
            return value
        await asyncio.sleep(0.05)


async def get_json(base_url: str, path: str, token: str | None = TOKEN) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(base_url + path, headers=headers) as r:
        body = await r.json() if r.content_type == "application/json" else await r.text()
        return r.status, body


async def run_cli(*args: str, database_url: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent",
        "calls",
        *args,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode()


async def test_a_calls_transcript_and_extraction_over_http_and_the_cli(
    fakes, start_server, database_url
):
    server = await start_server(DATABASE_URL=database_url, ADMIN_TOKEN=TOKEN)
    fakes.deepgram.set_script([HOURS, COST])
    fakes.groq.replies = [("hours", ANSWER)]
    fakes.groq.extractions = [
        ("opening hours", {"intent": "opening hours", "name": "Dana"}),
        ("cost", {"intent": "pricing", "next_step": "send the price list"}),
    ]
    result = await server.emulator().place_call(
        [
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=10),
            Say(caller_audio("what_are_your_opening_hours"), HOURS),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=15),
            Say(caller_audio("how_much_does_it_cost"), COST),
            WaitForAgentAudio(timeout=10),
            Pause(1.0),  # hang up while the routed answer plays
            HangUp(),
        ],
        from_="+15551230001",
        max_duration=60,
    )
    assert not result.timeouts, result.timeouts
    base = server.base_url
    sid = result.call_sid

    async def finished():
        status, call = await get_json(base, f"/calls/{sid}")
        done = status == 200 and call["outcome"] and call["extraction"]
        return call if done and call["extraction"].get("next_step") else None

    call = await wait_for(finished, 15)
    assert call, await get_json(base, f"/calls/{sid}")
    assert call["outcome"] == "caller_hung_up"
    assert call["graph"] == "receptionist" and call["from"] == "+15551230001"
    assert call["stream_sid"] == result.stream_sid
    assert call["started_at"] < call["ended_at"] and call["duration_s"] > 3
    turns = call["turns"]
    assert [(t["role"], t["source"]) for t in turns] == [
        ("agent", "call"),
        ("caller", "caller"),
        ("agent", "llm"),
        ("caller", "caller"),
        ("agent", "route"),
    ], turns
    assert [t["seq"] for t in turns] == list(range(5))
    assert turns[0]["text"] == "Thanks for calling Acme. How can I help?"
    assert turns[1]["text"] == HOURS
    assert turns[2]["text"] == ANSWER and turns[2]["heard_text"] == ANSWER
    assert not turns[2]["interrupted"]
    assert 100 < turns[2]["latency_ms"] < 3000
    assert turns[3]["text"] == COST
    assert turns[4]["route"] == "pricing" and "twenty dollars" in turns[4]["text"]
    assert turns[4]["interrupted"] and turns[4]["heard_text"] is None  # cut off by the hang-up
    for turn in turns:
        assert turn["started_at"] <= turn["ended_at"], turn
    # extraction: merged snapshots (a later answer keeps the earlier name)
    assert call["extraction"] == {
        "intent": "pricing",
        "name": "Dana",
        "phone": None,
        "email": None,
        "next_step": "send the price list",
        "consent_to_follow_up": None,
        "notes": None,
    }
    assert call["extraction_error"] is None
    assert call["extractions"][0]["data"]["intent"] == "opening hours"
    # kept apart (the answers' requests: one, or two when a speculative one was wasted)
    assert fakes.groq.extraction_requests and not any(map(is_extraction, fakes.groq.requests))

    # the list, its filters and paging
    status, page = await get_json(base, "/calls?limit=10")
    assert status == 200 and page["total"] == 1 and page["calls"][0]["call_sid"] == sid
    assert "turns" not in page["calls"][0]
    for query, total in [
        ("graph=receptionist", 1),
        ("graph=other", 0),
        ("outcome=caller_hung_up", 1),
        ("outcome=timeout", 0),
        (f"since={call['started_at'][:10]}", 1),
        ("until=2000-01-01", 0),
    ]:
        status, page = await get_json(base, f"/calls?{query}")
        assert (status, page["total"]) == (200, total), query
    assert (await get_json(base, "/calls?limit=0"))[0] == 400
    assert (await get_json(base, "/calls/CAnope"))[0] == 404
    # the bearer token
    assert (await get_json(base, "/calls", token=None))[0] == 401
    assert (await get_json(base, f"/calls/{sid}", token="wrong"))[0] == 401

    # the CLI reads the same database directly
    code, out = await run_cli(database_url=database_url)
    assert code == 0, out
    assert sid in out and "caller_hung_up" in out and "receptionist" in out
    code, out = await run_cli(sid, database_url=database_url)
    assert code == 0, out
    assert HOURS in out and ANSWER in out and "[route pricing]" in out
    assert "next_step: send the price list" in out


async def test_calls_command_json_and_unknown_call(database_url, capsys):
    from agent.cli.calls import _run, add_arguments

    store = await Store.open(database_url)
    await store.apply([CallStarted("CA1", "MZ1", None, "+1555", "+1666", "g", NOW)])
    await store.close()
    parser = argparse.ArgumentParser()
    add_arguments(parser.add_subparsers().add_parser("calls"))

    async def cli(*argv: str) -> tuple[int, str]:
        code = await _run(parser.parse_args(["calls", *argv]), database_url, 1.0)
        return code, capsys.readouterr().out

    code, out = await cli("--json", "CA1")
    assert code == 0 and json.loads(out)["from"] == "+1555"
    code, out = await cli("--json", "--graph", "g")
    assert code == 0 and json.loads(out)["total"] == 1
    code, out = await cli("CAnope")
    assert code == 1 and "no call CAnope" in out


async def test_calls_routes_are_off_without_admin_token(start_server):
    server = await start_server()
    status, _ = await get_json(server.base_url, "/calls")
    assert status == 404
    status, _ = await get_json(server.base_url, "/calls/CA123")
    assert status == 404

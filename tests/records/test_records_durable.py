"""Call records survive the server being killed: `python -m agent serve` as a real process,
SIGKILLed while the agent answers the second question; every turn that had ended is in the
database (SQLite and Postgres)."""

from __future__ import annotations

import asyncio
import signal

import aiohttp

from agent.records.store import Store
from agent.sim.script import Pause, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio
from tests.e2e.test_serve_process import Server, process_env

HOURS = "what are your opening hours"
ANSWER = "We're open from nine to five."
BOOK = "i would like to book an appointment for tomorrow"
LONG = "Of course. " + "Let me look at tomorrow's calendar for you. " * 6


async def test_every_completed_turn_is_in_the_database_after_sigkill(fakes, tmp_path, database_url):
    fakes.deepgram.set_script([HOURS, BOOK])
    fakes.groq.replies = [("hours", ANSWER), ("appointment", LONG)]
    env = process_env(fakes, DATABASE_URL=database_url, LOG_LEVEL="WARNING")
    server = await Server(env, tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            await server.wait_healthy(http)
        emulator = server.emulator()
        script = [
            WaitForAgentAudio(timeout=15),
            WaitForAgentSilence(pause=0.2, timeout=15),
            Say(caller_audio("what_are_your_opening_hours"), HOURS),
            WaitForAgentAudio(timeout=15),
            WaitForAgentSilence(pause=0.2, timeout=15),
            Say(caller_audio("i_would_like_to_book_an_appointment_for_tomorrow"), BOOK),
            Pause(30),
        ]
        call = asyncio.create_task(emulator.place_call(script, max_duration=45))

        # Kill 0.3 s into the second answer (~15 s long): the question before it has ended,
        # the answer is under way. Not at its very first audio: a turn reaches the database in
        # one batched commit a few ms after it ends, and with zero-latency fakes the answer
        # can start within that time (the guarantee is "committed within milliseconds", not
        # "before the agent's next word").
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 40
        while loop.time() < deadline and not call.done():
            live = list(emulator._calls.values())
            timeline = live[0].result.timeline if live else []
            said = [e[1] for e in timeline if e[0] == "say_end" and e[2] == BOOK]
            heard = [e[1] for e in timeline if said and e[0] == "media_in" and e[1] > said[0]]
            if heard and heard[-1] - heard[0] >= 0.3:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError(f"the second answer never started:\n{server.output[-3000:]}")
        call_sid = list(emulator._calls)[0]
        server.proc.send_signal(signal.SIGKILL)
        assert await server.wait(10) == -signal.SIGKILL
        result = await asyncio.wait_for(call, 10)
        assert result.closed_by == "server"
    finally:
        await server.stop()

    store = await Store.open(database_url)
    try:
        record = await store.get_call(call_sid)
    finally:
        await store.close()
    assert record is not None
    assert record["ended_at"] is None and record["outcome"] is None  # it never ended cleanly
    turns = [(t["role"], t["text"]) for t in record["turns"]]
    assert turns == [
        ("agent", "Thanks for calling Acme. How can I help?"),
        ("caller", HOURS),
        ("agent", ANSWER),
        ("caller", BOOK),
    ], turns

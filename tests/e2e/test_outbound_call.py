"""The agent's own calls, end to end: `python -m agent dial` (its code, in process) places the
call over the real REST client against the Twilio fake; the emulator rings, answers, posts
the signed status and AMD callbacks to the server and opens the call's media stream.

1. A person: they say "Hello?" as they pick up; the agent waits for it, then greets them by
   name with their appointment's time (the call variables, through the TTS), hears their
   answer, says goodbye and hangs up. The record: outbound, a person and why, Twilio's
   statuses in order, the final outcome a campaign reads.
2. An answering machine: its greeting, a beep; AMD reports the message's end; the agent
   leaves the graph's voicemail (rendered with the variables) once, after the beep, and
   hangs up. Nothing reaches the LLM.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import xml.etree.ElementTree as ET

from agent.cli.dial import dial
from agent.records.outbound_store import OutboundRecords
from agent.sim.fakes.groq import ToolCall
from agent.sim.outbound import Callee
from tests.conftest import caller_audio
from tests.e2e.conftest import call_record

TOKEN = "admin-token-for-tests"
CALLEE, OURS = "+15550004444", "+15550009999"
GREETING = (
    "Hi Ann, this is Acme calling to remind you of your appointment at 3 pm. Can you make it?"
)
VOICEMAIL = (
    "Hi Ann, this is Acme with a reminder of your appointment at 3 pm. If you need to change "
    "it, please call us back. Goodbye!"
)


def dial_args(**changes) -> argparse.Namespace:
    args = dict(
        to=CALLEE,
        graph="reminder",
        var=["name=Ann", "time=3 pm"],
        from_number=None,
        tag="t-1",
        public_url=None,  # https://PUBLIC_HOST: the emulator's public address of the server
        wait=None,
    )
    return argparse.Namespace(**(args | changes))


async def start(fakes, start_server, callee: Callee):
    server = await start_server(
        ADMIN_TOKEN=TOKEN, FROM_NUMBER=OURS, GRAPHS="reminder", DEFAULT_GRAPH="reminder"
    )
    emulator = server.emulator()
    fakes.twilio.outbound = emulator
    emulator.callees = [callee]
    out = io.StringIO()
    assert await dial(server.config, dial_args(), out) == 0
    [leg] = emulator.legs
    assert leg.call_sid in out.getvalue() and CALLEE not in out.getvalue()
    await asyncio.wait_for(leg.done.wait(), 60)
    return server, leg


async def final_outcome(server, call_sid: str):
    records = OutboundRecords(server.services.records.store.engine)
    for _ in range(100):
        if (outcome := await records.outcome(call_sid)) is not None:
            return outcome
        await asyncio.sleep(0.05)
    raise AssertionError("no final status recorded")


def _finished(record: dict) -> bool:
    """Twilio's final status and the call's own end are both written: two writers (the
    /status callback and the call's session), in either order. A final status that comes
    first ends the record provisionally (outcome "completed", as for a call no stream
    ended: agent/records/outbound_store.py); the session's end then writes the real one."""
    return record["call_status"] == "completed" and record.get("outcome") not in (None, "completed")


async def test_a_person_hears_their_name_and_time_after_their_hello(fakes, start_server):
    fakes.deepgram.set_script(["Hello?", "Yes, I can make it."])
    fakes.groq.replies = [("make it", ToolCall("end_call", {"goodbye": "Great, see you then!"}))]
    server, leg = await start(
        fakes,
        start_server,
        Callee(
            after_s=0.5,
            hello=caller_audio("yes"),
            hello_text="Hello?",
            say=caller_audio("yes"),
            say_text="Yes, I can make it.",
        ),
    )
    stream = leg.stream
    assert not stream.timeouts, stream.timeouts
    assert stream.parameters["var.name"] == "Ann" and stream.parameters["direction"] == "outbound"

    # Nothing over the hello: the agent's first audio starts after it ended.
    [(_, hello_end, _)] = [e for e in stream.events("say_end") if e[2] == "Hello?"]
    assert stream.first_agent_audio_t() > hello_end
    spoken = list(fakes.cartesia.transcripts_by_context().values())
    assert spoken[0].strip() == GREETING  # the variables, spoken
    assert any("see you then" in s for s in spoken)
    # The LLM knew whom it called: its prompt rendered with the variables; "Hello?" went no
    # further than the greeting's decision (the first turn it saw is the answer).
    [first, *_] = fakes.groq.requests
    system = first["messages"][0]["content"]
    assert "remind Ann of their appointment at 3 pm" in system
    assert [m["content"] for m in first["messages"] if m["role"] == "user"] == [
        "Yes, I can make it."
    ]
    assert fakes.twilio.hung_up(leg.call_sid)  # the agent ended the call

    record = await call_record(server, leg.call_sid, _finished)
    assert (record["direction"], record["to"], record["from"], record["tag"]) == (
        "outbound",
        CALLEE,
        OURS,
        "t-1",
    )
    assert record["answered_by"] == "human"
    assert record["answered_reason"] in ("words: first words", "amd:human")
    assert record["outcome"] == "agent_hung_up"
    callee_said = [t["text"] for t in record["turns"] if t["role"] == "caller"]
    assert callee_said == ["Hello?", "Yes, I can make it."]  # the hello too: nothing lost
    statuses = [e["status"] for e in record["status_history"] if e["kind"] == "status"]
    assert statuses == ["queued", "initiated", "ringing", "in-progress", "completed"]
    assert leg.amd is not None and leg.amd[0] == "human" and leg.amd[2] == 204  # signed, taken
    outcome = await final_outcome(server, leg.call_sid)
    assert (outcome.status, outcome.answered_by) == ("completed", "human")
    assert outcome.duration_s >= 1


async def test_an_answering_machine_gets_the_voicemail_once_after_the_beep(fakes, start_server):
    greeting = "Hi, you've reached Ann. Please leave a message after the tone."
    fakes.deepgram.set_script([greeting, "", "", ""])
    server, leg = await start(
        fakes,
        start_server,
        Callee(
            after_s=0.5,
            voicemail=caller_audio("i_would_like_to_book_an_appointment_for_tomorrow"),
            voicemail_text=greeting,
        ),
    )
    stream = leg.stream
    [(_, beep_end, _)] = [e for e in stream.events("say_end") if e[2] == "beep"]
    # One message, all of it after the beep, then the agent hung up.
    spoken = list(fakes.cartesia.transcripts_by_context().values())
    assert [s.strip() for s in spoken] == [VOICEMAIL]
    runs = stream.heard_runs()
    assert runs and runs[0][0] > beep_end
    heard_s = sum(end - start for start, end, _ in runs)
    assert heard_s > 5  # the whole message played (the TTS fake's audio for it)
    assert fakes.twilio.hung_up(leg.call_sid)
    assert stream.closed_by in ("server", "api")
    assert not fakes.groq.requests  # nothing the machine said reached the LLM
    assert leg.amd[0] == "machine_end_beep"

    record = await call_record(server, leg.call_sid, _finished)
    assert record["answered_by"] == "machine"
    assert record["answered_reason"] in ("amd:machine_end_beep", "words: you've reached")
    assert record["outcome"] == "agent_hung_up"
    assert "voicemail" in record["end_reason"]
    assert [t["text"] for t in record["turns"] if t["role"] == "caller"][0] == greeting
    created = fakes.twilio.created_calls[0]
    assert ET.fromstring(created.value("Twiml")).find("Connect/Stream") is not None
    outcome = await final_outcome(server, leg.call_sid)
    assert (outcome.status, outcome.answered_by) == ("completed", "machine")


async def test_amd_that_reached_another_server_process_still_decides(fakes, start_server):
    """Two server processes on one records database (WEB_CONCURRENCY); Twilio's AMD callback
    lands on the one without the stream. The call's own process reads the result from the
    records: a silent line that AMD says is a machine gets the voicemail (without the read,
    the silence would be taken for a person waiting, after 4 s, and greeted)."""
    env = dict(ADMIN_TOKEN=TOKEN, FROM_NUMBER=OURS, GRAPHS="reminder", DEFAULT_GRAPH="reminder")
    other = await start_server(**env)  # the same DATABASE_URL: the test's calls.db
    server = await start_server(**env)
    emulator = server.emulator()
    emulator.callback_base_url = other.base_url
    fakes.twilio.outbound = emulator
    emulator.callees = [Callee(after_s=0.5, amd="machine_end_beep", amd_after_s=1.0)]
    assert await dial(server.config, dial_args(), io.StringIO()) == 0
    [leg] = emulator.legs
    await asyncio.wait_for(leg.done.wait(), 60)

    assert leg.amd[0] == "machine_end_beep" and leg.amd[2] == 204  # taken by the other one
    spoken = [s.strip() for s in fakes.cartesia.transcripts_by_context().values()]
    assert spoken == [VOICEMAIL]
    record = await call_record(server, leg.call_sid, _finished)
    assert (record["answered_by"], record["answered_reason"]) == (
        "machine",
        "amd:machine_end_beep",
    )
    assert record["stream_sid"] == leg.stream.stream_sid  # the stream's start filled it in

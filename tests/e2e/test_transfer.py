"""Cold transfers through the Twilio emulator against the fakes (real time: few calls, many
assertions each). The caller asks for a person (route), presses 0 (keypad) or the LLM calls
transfer_call; the agent's "Connecting you now." plays to its end, then the call is updated
with a <Dial> to TRANSFER_NUMBER; Twilio (the emulator) rings it with a scripted outcome and
requests the signed /dial-result: answered, the record says so; unanswered, a new stream
comes back to the agent, which knows the conversation so far and offers a message."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import aiohttp
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agent.cli.calls import format_call
from agent.phrases.routes import load_routes
from agent.sim.dial import DialOutcome
from agent.sim.fakes import ToolCall
from agent.sim.script import (
    Dtmf,
    HangUp,
    Pause,
    Say,
    WaitForAgentAudio,
    WaitForAgentSilence,
    WaitForStream,
)
from agent.telemetry import tracing_from_config
from tests.conftest import caller_audio, context_audio
from tests.e2e.conftest import (
    assert_dialled_unanswered_and_back,
    cached,
    call_record,
    played_to_its_end_before,
    script_after_transfer,
)

ROOT = Path(__file__).resolve().parents[2]


def traced(server) -> InMemorySpanExporter:
    """Turn the server's tracing on, into memory (agent/telemetry)."""
    exporter = InMemorySpanExporter()
    server.services.tracing = tracing_from_config(
        server.config, processor=SimpleSpanProcessor(exporter)
    )
    return exporter


NUMBER = "+15550003333"
TOKEN = "admin-token-for-tests"
HOURS = "what are your opening hours"
HOURS_ANSWER = "We're open from nine to five, Monday to Friday."
BOOK = "I would like to book an appointment for tomorrow"
ROUTES = load_routes(ROOT / "audio_cache" / "routes.yaml")
CONNECTING = ROUTES.routes["human"].say
NOBODY = ROUTES.phrases["transfer_failed"]


def greeting_then(*steps):
    return [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.2, timeout=10), *steps]


async def test_caller_asks_for_a_person_the_call_is_dialled_and_answered(fakes, start_server):
    server = await start_server(TRANSFER_NUMBER=NUMBER, ADMIN_TOKEN=TOKEN)
    fakes.deepgram.set_script(["Can I talk to someone?"])
    emulator = server.emulator()
    fakes.twilio.live_calls = emulator
    result = await emulator.place_call(
        greeting_then(Say(caller_audio("who_are_you"), "can I talk to someone"), Pause(30)),
        dial=[DialOutcome("completed", talk_s=2, after_s=0.5)],
        max_duration=40,
    )
    assert not result.timeouts, result.timeouts
    assert result.closed_by == "redirect"
    assert cached("human") in result.heard  # "Connecting you now.", all of it
    assert not fakes.groq.requests  # the route answered; no LLM
    [update] = fakes.twilio.twiml_updates
    assert update.status == 200 and update.call_sid == result.call_sid
    played_to_its_end_before(update, result)
    dial = ET.fromstring(update.form["Twiml"]).find("Dial")
    assert dial.text == NUMBER and dial.get("timeout") == "20"
    assert dial.get("callerId") == "+15550002222"  # the called number
    assert dial.get("action").startswith("https://switchboard.example.test/dial-result?")
    [dialled] = result.dials
    assert (dialled["number"], dialled["status"], dialled["answer_status"]) == (
        NUMBER,
        "completed",
        200,
    )
    assert ET.fromstring(dialled["answer"]).tag == "Response"
    assert len(ET.fromstring(dialled["answer"])) == 0  # nothing more: the call ends
    assert not result.later_streams and not fakes.twilio.hung_up(result.call_sid)

    call = await call_record(
        server, result.call_sid, lambda c: c["transfers"][0]["status"] != "dialing"
    )
    assert call["outcome"] == "transferred"
    [transfer] = call["transfers"]
    assert (transfer["destination"], transfer["to"], transfer["via"]) == (
        "front_desk",
        NUMBER,
        "route",
    )
    assert (transfer["status"], transfer["dial_duration_s"]) == ("completed", 2)
    assert "transfer to front_desk via route (route human): answered, talked 2s" in format_call(
        call
    )
    assert [t["text"] for t in call["turns"]][-1] == CONNECTING

    # A forged report of the same dial (bad signature) is refused and changes nothing.
    url = f"{server.base_url}/dial-result?graph=receptionist&destination=front_desk"
    form = {"CallSid": result.call_sid, "DialCallStatus": "no-answer", "CallStatus": "in-progress"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=form, headers={"X-Twilio-Signature": "forged"}) as response,
    ):
        assert response.status == 403
    assert await call_record(server, result.call_sid) == call


async def test_keypad_0_unanswered_comes_back_to_the_agent_with_the_conversation(
    fakes, start_server
):
    server = await start_server(TRANSFER_NUMBER=NUMBER, ADMIN_TOKEN=TOKEN)
    spans = traced(server)
    fakes.deepgram.set_script([HOURS])
    fakes.groq.replies = [("hours", HOURS_ANSWER), ("appointment", "Sure, what's your name?")]
    emulator = server.emulator()
    fakes.twilio.live_calls = emulator

    rescript = script_after_transfer(fakes, [BOOK])  # what the second stream hears
    result = await emulator.place_call(
        greeting_then(
            Say(caller_audio("what_are_your_opening_hours"), HOURS),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=15),
            Dtmf("0"),
            WaitForStream(2, timeout=20),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=15),
            Say(caller_audio("i_would_like_to_book_an_appointment_for_tomorrow"), BOOK),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=15),
            HangUp(),
        ),
        dial=[DialOutcome("no-answer", after_s=0.5)],
        max_duration=60,
    )
    rescript.cancel()
    assert not result.timeouts, result.timeouts
    assert result.closed_by == "redirect"
    assert context_audio(fakes, HOURS_ANSWER) in result.heard
    assert cached("human") in result.heard  # the transfer phrase comes from the cache too
    [update] = fakes.twilio.twiml_updates
    played_to_its_end_before(update, result)
    # Back on a new stream of the same call: "nobody could take it", then the conversation goes on.
    back = assert_dialled_unanswered_and_back(result, NUMBER)
    assert back.closed_by == "caller"
    # The LLM's context on the new stream holds the earlier conversation.
    last = fakes.groq.requests[-1]["messages"]
    said = [(m["role"], m["content"]) for m in last if isinstance(m.get("content"), str)]
    assert said[-1] == ("user", BOOK)
    assert ("user", HOURS) in said and ("assistant", HOURS_ANSWER) in said
    assert ("assistant", NOBODY) in said
    assert said.index(("user", HOURS)) < said.index(("assistant", NOBODY))

    call = await call_record(server, result.call_sid, lambda c: c["outcome"] == "caller_hung_up")
    assert call["outcome"] == "caller_hung_up"
    [transfer] = call["transfers"]
    assert (transfer["via"], transfer["status"], transfer["reason"]) == (
        "dtmf",
        "no-answer",
        "pressed 0",
    )
    turns = call["turns"]
    assert [t["seq"] for t in turns] == list(range(len(turns)))  # one record, numbered on
    texts = [t["text"] for t in turns]
    for text in (HOURS, HOURS_ANSWER, "pressed 0", CONNECTING, NOBODY, BOOK):
        assert text in texts, (text, texts)
    assert texts.index(CONNECTING) < texts.index(NOBODY) < texts.index(BOOK)
    assert call["duration_s"] >= back.duration_s - 1.0  # from the call's start, not the stream's

    # Traces: each stream its own trace, the second linked to the first; the transfer a span.
    first, second = sorted(
        (s for s in spans.get_finished_spans() if s.name == "call"), key=lambda s: s.start_time
    )
    assert first.attributes["twilio.call_sid"] == second.attributes["twilio.call_sid"]
    assert first.context.trace_id != second.context.trace_id
    assert [link.context for link in second.links] == [first.context]
    assert second.attributes["call.resumed"] is True
    [span] = [s for s in spans.get_finished_spans() if s.name == "transfer"]
    assert span.parent.span_id == first.context.span_id
    assert (span.attributes["transfer.destination"], span.attributes["transfer.via"]) == (
        "front_desk",
        "dtmf",
    )
    assert span.attributes["transfer.outcome"] == first.attributes["call.outcome"]
    assert "transfer.reason" not in span.attributes  # words only with OTEL_CAPTURE_CONTENT


async def test_the_llm_transfers_with_its_tool(fakes, start_server):
    server = await start_server(TRANSFER_NUMBER=NUMBER, ADMIN_TOKEN=TOKEN)
    fakes.deepgram.set_script(["I have a billing question for your accounts team."])
    tool = ToolCall("transfer_call", {"destination": "front_desk", "reason": "billing question"})
    fakes.groq.replies = [("billing", tool)]
    emulator = server.emulator()
    fakes.twilio.live_calls = emulator
    result = await emulator.place_call(
        greeting_then(Say(caller_audio("what_are_your_opening_hours"), "billing"), Pause(30)),
        dial=[DialOutcome("completed", talk_s=1, after_s=0.3)],
        max_duration=40,
    )
    assert not result.timeouts, result.timeouts
    assert result.closed_by == "redirect" and cached("human") in result.heard
    # no second reply after the tool's result (a speculative request that wanted the tool is
    # withdrawn, pipecat's rule, and asked again once the turn ends: the same words)
    request = fakes.groq.requests[-1]
    assert len({str(r["messages"]) for r in fakes.groq.requests}) == 1
    offered = {t["function"]["name"]: t["function"] for t in request["tools"]}
    assert offered["transfer_call"]["parameters"]["properties"]["destination"]["enum"] == [
        "front_desk"
    ]
    [update] = fakes.twilio.twiml_updates
    played_to_its_end_before(update, result)
    assert ET.fromstring(update.form["Twiml"]).find("Dial").text == NUMBER
    call = await call_record(
        server, result.call_sid, lambda c: c["transfers"][0]["status"] != "dialing"
    )
    [transfer] = call["transfers"]
    assert (transfer["via"], transfer["reason"], transfer["status"]) == (
        "llm",
        "billing question",
        "completed",
    )
    assert call["outcome"] == "transferred"

"""Messages for the owner in whole calls through the Twilio emulator, against the fakes
(real time, so two calls).

1. The caller asks to leave a message (the router's `message` route), gives a name, declines
   the caller ID for another number, says what it is about, hears the number read back
   digit by digit and confirms: the message is in the call record (`GET /calls/SID`), in the
   signed call webhook (a local receiver), and an SMS reached the Twilio fake's Messages
   resource To OWNER_NUMBER From the called number. The LLM is never asked.
2. The LLM decides (its take_message tool, with the name and subject it heard); the caller
   accepts the caller ID; the Messages fake fails twice (503, 429) and then accepts: the SMS
   is retried, sent once, and its attempts are recorded.
3. After hours (the graph's hours, on a pinned wall clock): the cached after-hours greeting
   asks for the name and the dialog takes the message from there (reason `after_hours`).
4. The keyless local graph, real speech both ways (Piper speaks the caller, Whisper hears
   it, the scripted dialog answers, Piper speaks): the same message reaches the record.
"""

from __future__ import annotations

import asyncio
import json

from agent.records.delivery import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from agent.sim.fakes.groq import ToolCall
from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.e2e.conftest import call_record, caller_turn, webhook_posts

OWNER = "+15555550123"
CALLER, CALLED = "+15550001111", "+15550002222"
SECRET = "whsec-test-123"
ADMIN = "admin-token-123"


async def answer_each(server, said: list[str], *, max_duration: float, greeting_timeout=10):
    """A call from CALLER to CALLED: the greeting, then each scripted line once the agent has
    answered the one before, then the caller hangs up."""
    return await server.emulator().place_call(
        [
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=greeting_timeout),
            *[step for text in said for step in caller_turn(text)],
            HangUp(),
        ],
        from_=CALLER,
        to=CALLED,
        max_duration=max_duration,
    )


async def test_caller_leaves_a_message_with_another_number(fakes, start_server, webhook):
    url, posts = webhook
    # Speculation off: this call is the router's and the dialog's alone, and a speculative
    # request on an early interim ("Can", then withdrawn) would be a request all the same.
    server = await start_server(
        OWNER_NUMBER=OWNER,
        CALL_WEBHOOK_URL=url,
        CALL_WEBHOOK_SECRET=SECRET,
        ADMIN_TOKEN=ADMIN,
        SPECULATIVE_ANSWERS="false",
    )
    said = [
        "Can I leave a message?",
        "My name is Ann Smith.",
        "No, call me on 555 123 4567.",
        "It's about my order from last week.",
        "Yes, that's right.",
    ]
    fakes.deepgram.set_script(said)
    result = await answer_each(server, said, max_duration=90)
    assert not result.timeouts, result.timeouts
    assert not fakes.groq.requests  # the router and the dialog did it all
    spoken = " ".join(fakes.cartesia.transcripts_by_context().values())
    assert "Should we call you back on the number you're calling from?" in spoken
    assert "five five five, one two three, four five six seven" in spoken  # read back
    assert "I've passed your message on" in spoken

    record = await call_record(server, result.call_sid, lambda r: r["messages"])
    [message] = record["messages"]
    assert message["name"] == "Ann Smith" and message["callback_number"] == "5551234567"
    assert message["about"] == "It's about my order from last week."
    assert message["confirmed"] and message["caller_id"] == CALLER
    assert message["reason"] == "caller_asked"
    sources = [t["source"] for t in record["turns"] if t["role"] == "agent"]
    assert sources[:2] == ["call", "route"] and sources.count("message") == 4, sources

    [sms] = fakes.twilio.messages.sent
    assert (sms.to, sms.from_) == (OWNER, CALLED)
    assert "Ann Smith" in sms.body and "5551234567" in sms.body and "my order" in sms.body

    [(headers, body)] = await webhook_posts(posts)
    assert verify(SECRET, body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    payload = json.loads(body)
    [posted] = payload["messages"]
    assert posted["name"] == "Ann Smith" and posted["callback_number"] == "5551234567"
    assert posted["sms"]["to"] == OWNER and posted["sms"]["status"] in ("pending", "sent")


async def test_llm_starts_it_and_a_failing_sms_is_retried(fakes, start_server, monkeypatch):
    from agent.records import outbox

    monkeypatch.setattr(outbox, "SMS_BACKOFF_S", (0.2, 0.2, 0.2))
    server = await start_server(OWNER_NUMBER=OWNER, ADMIN_TOKEN=ADMIN)
    fakes.twilio.messages.fail_next = [503, 429]
    fakes.groq.replies = [
        ("invoice", ToolCall("take_message", {"name": "Bob", "about": "an invoice"}))
    ]
    said = ["I have a question about an invoice from last month.", "Yes.", "Yes."]
    fakes.deepgram.set_script(said)
    result = await answer_each(server, said, max_duration=60)
    assert not result.timeouts, result.timeouts
    # Only the turn that called the tool asked the LLM (twice when its speculative request,
    # which may not run a tool, was withdrawn for the tool call: pipecat's rule).
    asked = {r["messages"][-1]["content"] for r in fakes.groq.requests}
    assert asked == {said[0]} and 1 <= len(fakes.groq.requests) <= 2
    spoken = " ".join(fakes.cartesia.transcripts_by_context().values())
    assert "plus one, five five five, zero zero zero, one one one one" in spoken

    record = await call_record(
        server, result.call_sid, lambda r: r["messages"] and r["messages"][0]["sms"]["sid"]
    )
    [message] = record["messages"]
    assert (message["name"], message["about"], message["callback_number"]) == (
        "Bob",
        "an invoice",
        CALLER,
    )
    assert message["sms"]["status"] == "sent" and message["sms"]["attempts"] == 3
    assert [r.status for r in fakes.twilio.messages.requests] == [503, 429, 201]
    [sms] = fakes.twilio.messages.sent
    assert sms.sid == message["sms"]["sid"] and sms.to == OWNER and sms.from_ == CALLED


async def test_the_keyless_local_graph_takes_a_message(fakes, start_server):
    from agent.sim.voice import say_ulaw

    server = await start_server(DEFAULT_GRAPH="local", OWNER_NUMBER=OWNER, ADMIN_TOKEN=ADMIN)
    said = ["Can I leave a message?", "Bob.", "Yes.", "The delivery.", "Yes."]
    steps = []
    for text in said:
        steps += [
            Say(await asyncio.to_thread(say_ulaw, text), text),
            WaitForAgentAudio(timeout=15),
            WaitForAgentSilence(pause=0.3, timeout=20),
        ]
    result = await server.emulator().place_call(
        [
            WaitForAgentAudio(timeout=15),
            WaitForAgentSilence(pause=0.3, timeout=15),
            *steps,
            HangUp(),
        ],
        query={},
        from_=CALLER,
        to=CALLED,
        max_duration=120,
    )
    assert not result.timeouts, result.timeouts
    record = await call_record(server, result.call_sid, lambda r: r["messages"])
    [message] = record["messages"]
    assert message["confirmed"] and message["callback_number"] == CALLER
    assert "bob" in message["name"].lower() and "deliver" in message["about"].lower()
    [sms] = fakes.twilio.messages.sent
    assert (sms.to, sms.from_) == (OWNER, CALLED)


async def test_after_hours_the_greeting_starts_the_message(fakes, start_server, tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from agent.graph.hours import FixedWallClock
    from agent.phrases.routes import load_routes
    from tests.conftest import ROOT, graph_variants

    greeting = load_routes(ROOT / "audio_cache" / "routes.yaml").all_phrases()["after_hours"]
    hours = {
        "timezone": "America/New_York",
        "weekly": {"mon-fri": "09:00-17:00"},
        "after_hours": {"greeting": greeting, "take_message": True},
    }
    server = await start_server(
        GRAPHS_DIR=graph_variants(tmp_path, receptionist={"hours": hours}),
        OWNER_NUMBER=OWNER,
        ADMIN_TOKEN=ADMIN,
    )
    monday_23 = datetime(2026, 12, 7, 23, 0, tzinfo=ZoneInfo("America/New_York"))
    server.services.wall_clock = FixedWallClock(monday_23)
    said = ["Carol Jones.", "Yes.", "A quote for a new roof.", "Yes."]
    fakes.deepgram.set_script(said)
    result = await answer_each(server, said, max_duration=60, greeting_timeout=15)
    assert not result.timeouts, result.timeouts
    assert not fakes.groq.requests
    record = await call_record(server, result.call_sid, lambda r: r["messages"])
    [message] = record["messages"]
    assert message["reason"] == "after_hours" and message["confirmed"]
    assert (message["name"], message["callback_number"], message["about"]) == (
        "Carol Jones",
        CALLER,
        "A quote for a new roof.",
    )
    [sms] = fakes.twilio.messages.sent
    assert (sms.to, sms.from_) == (OWNER, CALLED) and "Carol Jones" in sms.body

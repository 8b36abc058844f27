"""Issue 18, done when: a transfer nobody answers ends in a message for the owner, in one
whole call through the Twilio emulator against the provider fakes (real time).

The caller says "can I talk to someone" (the router's `human` route; pressing 0 goes the
same way and is covered in test_transfer.py) and hears "Connecting you now." to its end;
then the call is updated with a <Dial> to TRANSFER_NUMBER, which rings out (scripted
no-answer). Twilio's signed /dial-result brings the call back to the agent on a new
stream, whose greeting (`call.transfer_failed`) offers to take a message; the caller says
yes, gives a name, accepts the caller ID (the number /dial-result passed on as `from`),
says what it is about and confirms the read-back. The message, reason `transfer_failed`
and confirmed, is in the call record, in the signed call webhook (a local receiver) and
in an SMS the Twilio fake's Messages resource got To OWNER_NUMBER From the called number;
the record says the transfer went unanswered. Neither the route nor the dialog asks the LLM.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from agent.phrases.routes import load_routes
from agent.records.delivery import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from agent.sim.dial import DialOutcome
from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence, WaitForStream
from tests.conftest import ROOT, caller_audio, context_audio
from tests.e2e.conftest import (
    assert_dialled_unanswered_and_back,
    cached,
    call_record,
    caller_turn,
    played_to_its_end_before,
    script_after_transfer,
    webhook_posts,
)

TRANSFER_TO = "+15550003333"
OWNER = "+15555550123"
CALLER, CALLED = "+15550001111", "+15550002222"
SECRET = "whsec-test-123"
ADMIN = "admin-token-123"
ROUTES = load_routes(ROOT / "audio_cache" / "routes.yaml")
CONNECTING = ROUTES.routes["human"].say
NOBODY = ROUTES.phrases["transfer_failed"]
ASK_FOR_SOMEONE = "Can I talk to someone?"
ABOUT = "It's about my order from last week."
# What the caller says on the stream the call comes back on, and the recording said.
BACK = [
    ("Yes.", "yes"),  # to "Can I take a message?"
    ("My name is Ann Smith.", "who_are_you"),
    ("Yes.", "yes"),  # call back on the number I'm calling from
    (ABOUT, "who_are_you"),
    ("Yes, that's right.", "yes"),  # the number read back
]


async def test_nobody_answers_the_transfer_and_the_caller_leaves_a_message(
    fakes, start_server, webhook
):
    url, posts = webhook
    server = await start_server(
        TRANSFER_NUMBER=TRANSFER_TO,
        OWNER_NUMBER=OWNER,
        CALL_WEBHOOK_URL=url,
        CALL_WEBHOOK_SECRET=SECRET,
        ADMIN_TOKEN=ADMIN,
    )
    fakes.deepgram.set_script([ASK_FOR_SOMEONE])
    emulator = server.emulator()
    fakes.twilio.live_calls = emulator  # the REST update with the <Dial> reaches the call
    rescript = script_after_transfer(fakes, [text for text, _ in BACK])
    try:
        result = await emulator.place_call(
            [
                WaitForAgentAudio(timeout=10),  # the greeting
                WaitForAgentSilence(pause=0.2, timeout=10),
                Say(caller_audio("who_are_you"), ASK_FOR_SOMEONE),
                WaitForStream(2, timeout=20),  # "Connecting you now.", the ringing, back
                WaitForAgentAudio(timeout=10),  # "Sorry, nobody could take your call ..."
                WaitForAgentSilence(pause=0.2, timeout=15),
                *[step for text, audio in BACK for step in caller_turn(text, audio)],
                HangUp(),
            ],
            from_=CALLER,
            to=CALLED,
            dial=[DialOutcome("no-answer", after_s=0.5)],
            max_duration=90,
        )
    finally:
        rescript.cancel()
    assert not result.timeouts, result.timeouts

    # The first stream: the connecting phrase to its end, then the <Dial>.
    assert result.closed_by == "redirect"
    assert cached("human") in result.heard  # "Connecting you now.", all of it
    [update] = fakes.twilio.twiml_updates
    assert update.status == 200 and update.call_sid == result.call_sid
    played_to_its_end_before(update, result)
    dial = ET.fromstring(update.form["Twiml"]).find("Dial")
    assert dial.text == TRANSFER_TO and dial.get("callerId") == CALLED

    # Back on a new stream of the same call: the offer, then the dialog, then the caller leaves.
    back = assert_dialled_unanswered_and_back(result, TRANSFER_TO)
    assert context_audio(fakes, "Should we call you back on the number") in back.heard
    assert back.closed_by == "caller"
    spoken = " ".join(fakes.cartesia.transcripts_by_context().values())
    assert "plus one, five five five, zero zero zero, one one one one" in spoken  # read back
    assert "I've passed your message on" in spoken
    assert not fakes.groq.requests  # the route, the offer and the dialog did it all

    # The call record: the message, and the transfer nobody answered.
    record = await call_record(
        server,
        result.call_sid,
        lambda r: (
            r["outcome"] == "caller_hung_up"
            and r["messages"]
            and r["messages"][0]["sms"]["status"] == "sent"
        ),
    )
    [message] = record["messages"]
    assert (message["reason"], message["confirmed"]) == ("transfer_failed", True)
    assert (message["name"], message["callback_number"], message["about"]) == (
        "Ann Smith",
        CALLER,
        ABOUT,
    )
    assert message["caller_id"] == CALLER
    body = f"Message from Ann Smith, call back on {CALLER}: {ABOUT} [call {result.call_sid[-8:]}]"
    assert (message["sms"]["to"], message["sms"]["from"], message["sms"]["body"]) == (
        OWNER,
        CALLED,
        body,
    )
    [transfer] = record["transfers"]
    assert (transfer["destination"], transfer["to"], transfer["via"], transfer["status"]) == (
        "front_desk",
        TRANSFER_TO,
        "route",
        "no-answer",
    )
    texts = [t["text"] for t in record["turns"]]
    assert texts.index(CONNECTING) < texts.index(NOBODY) < texts.index("My name is Ann Smith.")
    sources = [t["source"] for t in record["turns"] if t["role"] == "agent"]
    assert sources.count("message") == 5, sources  # name, caller ID, about, read-back, done

    # The SMS, as the Twilio fake's Messages resource got it.
    [sms] = fakes.twilio.messages.sent
    assert (sms.to, sms.from_, sms.body) == (OWNER, CALLED, body)
    assert sms.sid == message["sms"]["sid"]

    # The signed call webhook, once the caller has hung up on the returned stream.
    [(headers, raw)] = await webhook_posts(posts)
    assert verify(SECRET, raw, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    payload = json.loads(raw)
    assert payload["call_sid"] == result.call_sid
    [posted] = payload["messages"]
    assert (posted["reason"], posted["confirmed"], posted["name"]) == (
        "transfer_failed",
        True,
        "Ann Smith",
    )
    assert (posted["callback_number"], posted["about"]) == (CALLER, ABOUT)
    assert posted["sms"]["to"] == OWNER and posted["sms"]["status"] in ("pending", "sent")
    assert [t["status"] for t in payload["transfers"]] == ["no-answer"]

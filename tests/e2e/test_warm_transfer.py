"""Warm transfers through the Twilio emulator against the fakes (real time: two calls, many
assertions each). TRANSFER_WARM=true makes the receptionist's front desk warm: the caller
asks for a person and hears the hold phrase to its end, then the hold music; meanwhile the
server creates the person's call over the REST API (the Twilio fake), the emulator rings
it, reports its progress to the signed /warm-status and connects its own media stream,
where the person hears who is calling and why and answers with the keypad. Accepted: both
calls are updated into one conference. Declined: the person's call is hung up, and the
caller, on the same stream, hears that nobody could take the call and leaves a message."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from agent.phrases.routes import load_routes
from agent.sim.outbound import Callee
from agent.sim.script import HangUp, Pause, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import ROOT, caller_audio
from tests.e2e.conftest import cached, call_record, caller_turn, played_to_its_end_before

NUMBER = "+15550003333"
CALLER, CALLED = "+15550001111", "+15550002222"
TOKEN = "admin-token-for-tests"
ROUTES = load_routes(ROOT / "audio_cache" / "routes.yaml")
ORDER = "I have a problem with my order from last week."
ASK_FOR_SOMEONE = "Can I talk to someone?"
MUSIC = (ROOT / "audio_cache" / "hold_music.ulaw").read_bytes()
WARM = {"TRANSFER_NUMBER": NUMBER, "TRANSFER_WARM": "true", "ADMIN_TOKEN": TOKEN}


def greeting_then(*steps):
    return [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.2, timeout=10), *steps]


def heard_in_order(heard: bytes, *pieces: bytes) -> list[int]:
    """Where each piece starts in `heard`, asserting each is there after the one before."""
    at, starts = 0, []
    for piece in pieces:
        found = heard.find(piece, at)
        assert found >= 0, f"piece {len(starts)} not heard (after byte {at})"
        starts.append(found)
        at = found + len(piece)
    return starts


async def test_warm_transfer_accepted_both_calls_meet_in_one_conference(fakes, start_server):
    server = await start_server(**WARM)
    fakes.deepgram.set_script([ORDER, ASK_FOR_SOMEONE])
    emulator = server.emulator()
    fakes.twilio.live_calls = emulator  # the calls' updates reach the emulator
    fakes.twilio.outbound = emulator  # and so does the call to the person
    result = await emulator.place_call(
        greeting_then(
            *caller_turn(ORDER),  # the LLM answers
            Say(caller_audio("who_are_you"), ASK_FOR_SOMEONE),
            Pause(40),  # on hold, then in the conference
        ),
        from_=CALLER,
        to=CALLED,
        callees=[Callee(after_s=1.0, press="1", talk_s=1.0)],
        max_duration=60,
    )
    assert not result.timeouts, result.timeouts

    # The caller: the hold phrase to its end, the hold music, then "connecting you".
    heard_in_order(result.heard, cached("hold_phrase"), MUSIC[:4000], cached("hold_connected"))
    assert result.closed_by == "redirect"

    # The person's call, as created over the REST API.
    [created] = fakes.twilio.created_calls
    assert (created.value("To"), created.value("From"), created.value("Timeout")) == (
        NUMBER,
        CALLED,
        "20",
    )
    callback = created.value("StatusCallback")
    assert callback.startswith("https://switchboard.example.test/warm-status?transfer=")
    assert created.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    stream = ET.fromstring(created.value("Twiml")).find("Connect/Stream")
    assert stream.get("url") == "wss://switchboard.example.test/ws"
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert set(parameters) == {"warm", "graph"} and len(parameters["warm"]) >= 24
    assert CALLER not in created.value("Twiml") and CALLER not in callback  # nothing personal

    # The person heard the brief (the caller's words) and the question, and pressed 1.
    [leg] = emulator.legs
    assert [status for status, _ in leg.callbacks] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert all(code == 200 for _, code in leg.callbacks), leg.callbacks
    spoken = " ".join(fakes.cartesia.transcripts_by_context().values())
    assert "caller from plus one, five five five, zero zero zero, one one one one" in spoken
    assert f'They said: "{ORDER}"' in spoken  # why: the caller's own words
    heard_in_order(leg.stream.heard, cached("warm_ask"), cached("human"))  # "Connecting you now."
    assert leg.stream.closed_by == "redirect"

    # Both calls updated into the same conference, each after its phrase played.
    updates = fakes.twilio.twiml_updates
    assert {u.call_sid for u in updates} == {result.call_sid, leg.call_sid}
    assert all(u.status == 200 for u in updates)
    rooms = [ET.fromstring(u.form["Twiml"]).find("Dial/Conference") for u in updates]
    assert len({room.text for room in rooms}) == 1
    assert all(
        (r.get("startConferenceOnEnter"), r.get("endConferenceOnExit"), r.get("beep"))
        == ("true", "true", "false")
        for r in rooms
    )
    [name] = {room.text for room in rooms}
    assert result.conferences == [name] and leg.conference == name
    assert sorted(emulator.conferences.members[name]) == sorted([result.call_sid, leg.call_sid])
    [caller_update] = [u for u in updates if u.call_sid == result.call_sid]
    played_to_its_end_before(caller_update, result)
    # The music stopped when the person pressed 1: Twilio's buffer cleared after the key,
    # before "connecting you" (the clear is the last one of the call).
    [(_, pressed_t, _)] = leg.stream.events("dtmf")
    pressed_at = leg.stream.started_at + pressed_t
    cleared_at = result.started_at + result.clears[-1]
    assert pressed_at < cleared_at < caller_update.at

    # The record: transferred, the transfer accepted, with the person's call's length.
    record = await call_record(
        server, result.call_sid, lambda r: r["transfers"][0]["dial_duration_s"] is not None
    )
    assert record["outcome"] == "transferred"
    [transfer] = record["transfers"]
    assert (transfer["destination"], transfer["to"], transfer["via"], transfer["status"]) == (
        "front_desk",
        NUMBER,
        "route",
        "accepted",
    )
    assert transfer["dial_duration_s"] >= 1


BACK = [
    ("Yes.", "yes"),  # to "Can I take a message?"
    ("My name is Ann Smith.", "who_are_you"),
    ("Yes.", "yes"),  # call back on the number I'm calling from
    (ORDER, "who_are_you"),
    ("Yes, that's right.", "yes"),  # the number read back
]


async def test_warm_transfer_declined_the_caller_leaves_a_message(fakes, start_server):
    server = await start_server(**WARM)
    fakes.deepgram.set_script([ASK_FOR_SOMEONE, *[text for text, _ in BACK]])
    emulator = server.emulator()
    fakes.twilio.live_calls = emulator
    fakes.twilio.outbound = emulator
    result = await emulator.place_call(
        greeting_then(
            Say(caller_audio("who_are_you"), ASK_FOR_SOMEONE),
            WaitForAgentAudio(timeout=10),  # the hold phrase, the music, then "nobody could"
            WaitForAgentSilence(pause=0.2, timeout=40, quiet=1.0),
            *[step for text, audio in BACK for step in caller_turn(text, audio)],
            HangUp(),
        ),
        from_=CALLER,
        to=CALLED,
        callees=[Callee(after_s=4.0, press="2", hear_out=False)],  # 2 during the brief
        max_duration=90,
    )
    assert not result.timeouts, result.timeouts

    # One stream throughout: hold phrase, music, then "nobody could take your call".
    assert result.closed_by == "caller" and not result.later_streams
    heard_in_order(result.heard, cached("hold_phrase"), MUSIC[:4000], cached("transfer_failed"))
    assert not fakes.twilio.twiml_updates  # nobody joined a conference
    [leg] = emulator.legs
    assert leg.conference is None
    # The brief was cut short by the 2 (no question), then the goodbye.
    assert cached("warm_ask")[:4000] not in leg.stream.heard
    assert leg.stream.heard.endswith(cached("warm_declined")[:-800]) or (
        cached("warm_declined")[:8000] in leg.stream.heard
    )
    assert leg.stream.clears  # the pacer cleared the brief
    assert fakes.twilio.hung_up(leg.call_sid)  # the person's call ended over REST
    assert not fakes.groq.requests  # route, hold, offer and dialog: no LLM

    record = await call_record(
        server, result.call_sid, lambda r: r["outcome"] == "caller_hung_up" and r["messages"]
    )
    [transfer] = record["transfers"]
    assert (transfer["status"], transfer["via"]) == ("declined", "route")
    [message] = record["messages"]
    assert (message["reason"], message["confirmed"], message["name"]) == (
        "transfer_failed",
        True,
        "Ann Smith",
    )
    assert (message["callback_number"], message["about"]) == (CALLER, ORDER)


async def test_the_caller_hanging_up_on_hold_cancels_the_call_to_the_person(fakes, start_server):
    server = await start_server(**WARM)
    fakes.deepgram.set_script([ASK_FOR_SOMEONE])
    emulator = server.emulator()
    fakes.twilio.live_calls = emulator
    fakes.twilio.outbound = emulator
    result = await emulator.place_call(
        greeting_then(
            Say(caller_audio("who_are_you"), ASK_FOR_SOMEONE),
            WaitForAgentAudio(timeout=10),  # the hold phrase
            Pause(5),  # its end, then some music
            HangUp(),
        ),
        from_=CALLER,
        to=CALLED,
        callees=[Callee("no-answer")],  # it would ring the whole 20 s
        max_duration=40,
    )
    assert not result.timeouts, result.timeouts
    assert result.closed_by == "caller"
    heard_in_order(result.heard, cached("hold_phrase"), MUSIC[:2000])
    [leg] = emulator.legs
    assert leg.status == "canceled" and leg.stream is None  # never answered
    assert [status for status, _ in leg.callbacks] == ["initiated", "ringing", "canceled"]
    [cancel] = [h for h in fakes.twilio.hangups if h.call_sid == leg.call_sid]
    assert cancel.form == {"Status": "canceled"} and cancel.status == 200
    record = await call_record(server, result.call_sid, lambda r: r["outcome"] == "caller_hung_up")
    assert [t["status"] for t in record["transfers"]] == ["caller_hung_up"]

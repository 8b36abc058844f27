"""Acknowledgements over the agent, end to end through the Twilio emulator (one real-time call).

The caller asks a question whose answer lasts ~15 s and says "Mm-hmm." and "Okay." over it:
no `clear` reaches Twilio, the caller hears the whole answer, neither word reaches the LLM,
and the call record keeps both as caller turns with source "acknowledgement". Then the caller
asks again and says "Wait, which one is cheapest?" over the same answer: that stops it, with
`clear`, and the LLM answers the question (processors/barge_in.py).
"""

from __future__ import annotations

from agent.sim.script import HangUp, Pause, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio, context_audio
from tests.e2e.conftest import call_record

ASK = "what are your plans"
ASK_AGAIN = "tell me the plans again"
INTERRUPTION = "Wait, which one is cheapest?"
ANSWER = (  # ~15 s of the Cartesia fake's voice (70 ms per character)
    "We have three plans. The basic plan is twenty dollars a month with unlimited calls and "
    "voicemail. The standard plan is thirty five dollars and adds call recording. The premium "
    "plan is fifty dollars a month and adds analytics."
)
CHEAPEST = "The basic plan is the cheapest."


async def test_acknowledgements_do_not_stop_the_agent_and_a_question_does(fakes, start_server):
    assert 13.5 < len(ANSWER) * 0.070 < 17
    server = await start_server(
        ROUTER_ENABLED="false", ADMIN_TOKEN="admin-token-for-tests"
    )  # every turn to the LLM (its replies)
    fakes.deepgram.set_script([ASK, "Mm-hmm.", "Okay.", ASK_AGAIN, INTERRUPTION])
    fakes.groq.replies = [("cheapest", CHEAPEST), ("plans", ANSWER)]
    question = caller_audio("what_are_your_opening_hours")
    result = await server.emulator().place_call(
        [
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=10),  # the greeting
            Say(question, ASK),
            WaitForAgentAudio(timeout=10),
            Pause(3),
            Say(caller_audio("mm_hmm"), "Mm-hmm."),
            Pause(3),
            Say(caller_audio("okay"), "Okay."),
            WaitForAgentSilence(pause=0.3, timeout=20),
            Say(question, ASK_AGAIN),
            WaitForAgentAudio(timeout=10),
            Pause(2),
            Say(caller_audio("wait_which_one_is_cheapest"), INTERRUPTION),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=10),
            HangUp(),
        ],
        max_duration=60,
    )
    assert not result.timeouts, result.timeouts
    said = {rest[0]: t for kind, t, *rest in result.timeline if kind == "say_start"}

    # Over the first answer: no clear, and the caller heard every byte of it.
    first = [t for t in result.clears if said[ASK] < t < said[ASK_AGAIN]]
    assert not first, f"clear at {first} after the acknowledgements"
    answer_audio = context_audio(fakes, "three plans")
    assert result.heard.count(answer_audio) >= 1, "the first answer was not heard whole"

    # Over the second: the question stopped it, with clear, and was answered.
    clears = [t for t in result.clears if t > said[INTERRUPTION]]
    assert clears and clears[0] < said[INTERRUPTION] + 2.0, result.clears
    assert context_audio(fakes, CHEAPEST) in result.heard
    assert result.heard.count(answer_audio) == 1  # the second answer was cut off

    # The LLM saw three turns, never the acknowledgements.
    users = [m["content"] for m in fakes.groq.requests[-1]["messages"] if m["role"] == "user"]
    assert len(fakes.groq.requests) == 3, users
    assert not any("Mm-hmm" in str(u) or "Okay" in str(u) for u in users), users

    # The call record keeps them, as acknowledgements.
    record = await call_record(
        server, result.call_sid, lambda r: sum(t["role"] == "caller" for t in r["turns"]) >= 5
    )
    caller = [(t["text"], t["source"]) for t in record["turns"] if t["role"] == "caller"]
    assert ("Mm-hmm.", "acknowledgement") in caller and ("Okay.", "acknowledgement") in caller
    assert (INTERRUPTION, "caller") in caller, caller

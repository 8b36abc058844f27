"""A cold transfer whose REST update Twilio refuses (a 4xx, not retried): the stream is still
open, so the caller is not hung up on: after "Connecting you now." to its end, the agent
says nobody could take the call and offers a message, on the same stream; the record says
`update_failed`, and the call goes on until the caller leaves."""

from __future__ import annotations

from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio
from tests.e2e.conftest import cached, call_record

NUMBER = "+15550003333"
TOKEN = "admin-token-for-tests"


async def test_a_refused_transfer_update_comes_back_to_the_caller(fakes, start_server):
    server = await start_server(TRANSFER_NUMBER=NUMBER, ADMIN_TOKEN=TOKEN)
    fakes.deepgram.set_script(["Can I talk to someone?"])
    emulator = server.emulator()
    fakes.twilio.live_calls = emulator
    fakes.twilio.fail_next = [400]  # the <Dial> update is refused
    result = await emulator.place_call(
        [
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=10),
            Say(caller_audio("who_are_you"), "can I talk to someone"),
            WaitForAgentAudio(timeout=10),  # "Connecting you now.", then "Sorry, nobody ..."
            WaitForAgentSilence(pause=0.2, timeout=20, quiet=1.0),
            HangUp(),
        ],
        max_duration=40,
    )
    assert not result.timeouts, result.timeouts
    assert result.closed_by == "caller" and not result.later_streams and not result.dials
    heard = result.heard
    connecting = heard.find(cached("human"))
    assert connecting >= 0
    assert heard.find(cached("transfer_failed"), connecting + len(cached("human"))) > 0
    [update] = fakes.twilio.twiml_updates
    assert update.status == 400 and update.call_sid == result.call_sid
    assert not fakes.twilio.hung_up(result.call_sid)  # never hung up on
    record = await call_record(server, result.call_sid, lambda r: r["outcome"] is not None)
    assert record["outcome"] == "caller_hung_up"
    assert [t["status"] for t in record["transfers"]] == ["update_failed"]

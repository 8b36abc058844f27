"""`POST /dial-result` without a call: Twilio's signature (403), its form (400), and the TwiML
answers: back to the agent on a new stream, or the end; and the hand-off's REST update
against the Twilio fake, retried, then reported failed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import aiohttp

from agent.app.transfer_call import HandOff, Resume
from tests.conftest import PUBLIC_HOST

PATH = "/dial-result?graph=receptionist&destination=front_desk"


async def post(server, form: dict, *, sign: bool = True) -> tuple[int, str]:
    emulator = server.emulator()
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = emulator.sign(f"https://{PUBLIC_HOST}{PATH}", form)
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.base_url + PATH, data=form, headers=headers) as response,
    ):
        return response.status, await response.text()


def dial_form(status: str, call_status: str = "in-progress") -> dict:
    return {
        "CallSid": "CA" + "1" * 32,
        "CallStatus": call_status,
        "From": "+15550001111",
        "To": "+15550002222",
        "DialCallStatus": status,
    }


async def test_dial_result_checks_the_signature_and_answers_with_twiml(start_server):
    server = await start_server()
    assert (await post(server, dial_form("no-answer"), sign=False))[0] == 403
    status, _ = await post(server, {"CallSid": "CA1", "DialCallStatus": "ringing"})
    assert status == 400
    status, body = await post(server, dial_form("no-answer"))
    assert status == 200
    stream = ET.fromstring(body).find("Connect/Stream")
    assert stream.get("url") == f"wss://{PUBLIC_HOST}/ws"
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert parameters == {
        "graph": "receptionist",
        "from": "+15550001111",
        "to": "+15550002222",
        "resume": "transfer",
        "dial_status": "no-answer",
    }
    for form in (dial_form("completed"), dial_form("busy", call_status="completed")):
        status, body = await post(server, form)  # answered; or the caller already left
        assert status == 200 and len(ET.fromstring(body)) == 0


async def test_the_hand_off_update_is_retried_then_reported_failed(fakes, start_server):
    server = await start_server()
    graph = server.services.graphs["receptionist"]
    fakes.twilio.fail_next = [500, 500, 500, 500]
    hand_off = HandOff(server.services.twilio, None, graph, "CA1", None, "<Response/>")
    assert await hand_off() is False and hand_off.result == "failed"
    assert [h.status for h in fakes.twilio.twiml_updates] == [500, 500, 500, 500]


def test_a_resumed_call_knows_how_long_it_has_lasted():
    assert Resume("no-answer", started_at=1000.0).elapsed_s(now=1042.5) == 42.5
    assert Resume("no-answer").elapsed_s(now=1042.5) == 0.0  # no record: a fresh limit
    assert Resume("busy", started_at=2000.0).elapsed_s(now=1990.0) == 0.0  # clock skew

"""An operator transfers a live call from the dashboard: the graph's transfer phrase, then
the <Dial> through the REST call update, exactly as the graph's own transfers; the record
says it was the operator. (Ending a call from Live is in test_browser.py.)"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

from agent.dashboard.live import BOARD
from agent.sim.dial import DialOutcome
from agent.sim.script import Pause, WaitForAgentAudio, WaitForAgentSilence
from tests.dashboard.conftest import TOKEN, csrf_of
from tests.e2e.conftest import cached, call_record

NUMBER = "+15550007777"


async def test_an_operator_transfers_a_live_call(fakes, start_server, client_for):
    server = await start_server(TRANSFER_NUMBER=NUMBER, ADMIN_TOKEN=TOKEN)
    emulator = server.emulator()
    fakes.twilio.live_calls = emulator
    operator = client_for(server)
    await operator.login()
    call = asyncio.create_task(
        emulator.place_call(
            [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.2, timeout=10), Pause(30)],
            dial=[DialOutcome("completed", talk_s=1, after_s=0.3)],
            max_duration=40,
        )
    )
    board = server.app[BOARD]
    while not board.calls or not board.calls[next(iter(board.calls))].turns:
        await asyncio.sleep(0.05)  # the greeting has been said
    [call_sid] = board.calls
    assert board.calls[call_sid].call.transfers == ("front_desk",)
    _, _, page = await operator.get("/dashboard/live")
    path = f"/dashboard/calls/{call_sid}/transfer"
    headers = {"Accept": "application/json"}
    status, _, body = await operator.post(
        path, data={"csrf": csrf_of(page), "destination": "nobody"}, headers=headers
    )
    assert status == 409 and "nobody" in body
    status, _, body = await operator.post(
        path, data={"csrf": csrf_of(page), "destination": "front_desk"}, headers=headers
    )
    assert (status, body) == (200, '{"status": "transferring"}')

    result = await call
    assert result.closed_by == "redirect"
    assert cached("human") in result.heard  # "Connecting you now.", from the audio cache
    [update] = fakes.twilio.twiml_updates
    assert ET.fromstring(update.form["Twiml"]).find("Dial").text == NUMBER
    record = await call_record(
        server, call_sid, lambda c: c["transfers"] and c["transfers"][0]["status"] != "dialing"
    )
    [transfer] = record["transfers"]
    assert (transfer["destination"], transfer["via"], transfer["status"]) == (
        "front_desk",
        "operator",
        "completed",
    )
    assert record["outcome"] == "transferred"

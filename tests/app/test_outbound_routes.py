"""POST /calls (bearer ADMIN_TOKEN, precise JSON refusals) and Twilio's callbacks about an
outbound call (/status, /amd: signed, recorded, the AMD result handed to the call)."""

from __future__ import annotations

import aiohttp
from twilio.request_validator import RequestValidator

from agent.records.dnc import DncList
from tests.conftest import AUTH_TOKEN, PUBLIC_HOST

TOKEN = "admin-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TO, OURS = "+15550004444", "+15550009999"


async def start(start_server, **env):
    return await start_server(
        ADMIN_TOKEN=TOKEN, FROM_NUMBER=OURS, GRAPHS="reminder", DEFAULT_GRAPH="reminder", **env
    )


async def post_calls(server, body, headers=AUTH) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.base_url}/calls", json=body, headers=headers) as r:
            return r.status, await r.json(content_type=None)


async def signed_post(server, path: str, form: dict, token: str = AUTH_TOKEN) -> int:
    url = f"https://{PUBLIC_HOST}{path}"
    signature = RequestValidator(token).compute_signature(url, form)
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.base_url}{path}", data=form, headers={"X-Twilio-Signature": signature}
        ) as r:
            return r.status


async def test_post_calls_places_the_call_and_records_it(fakes, start_server):
    server = await start(start_server)
    status, body = await post_calls(
        server,
        {"to": "+1 555 000 4444", "graph": "reminder", "vars": {"name": "Ann", "time": "3 pm"}},
    )
    assert status == 201, body
    assert (body["to"], body["graph"]) == (TO, "reminder") and body["call_sid"].startswith("CA")
    [created] = fakes.twilio.created_calls
    assert (created.value("To"), created.value("From")) == (TO, OURS)
    assert created.value("AsyncAmdStatusCallback") == f"https://{PUBLIC_HOST}/amd"
    record = await server.services.records.store.get_call(body["call_sid"])
    assert (record["direction"], record["call_status"]) == ("outbound", "queued")


async def test_post_calls_refusals_are_precise_json(fakes, start_server):
    server = await start(start_server)
    await DncList(server.services.records.store.engine).add(TO, "test")
    cases = [
        ({"to": TO, "graph": "reminder", "vars": {"name": "Ann", "time": "3"}}, 409, "do_not_call"),
        (
            {"to": "+15550005555", "graph": "reminder", "vars": {"time": "3"}},
            422,
            "missing_variable",
        ),
        (
            {
                "to": "+15550005555",
                "graph": "reminder",
                "vars": {"name": "A", "time": "3", "nmae": "x"},
            },
            422,
            "unknown_variable",
        ),
        ({"to": "+15550005555", "graph": "remindr", "vars": {}}, 422, "unknown_graph"),
        ({"to": "555", "graph": "reminder", "vars": {}}, 422, "invalid_number"),
        ({"graph": "reminder"}, 400, "missing_to"),
        ({"to": TO, "graph": "reminder", "vars": ["Ann"]}, 400, "bad_vars"),
        ({"to": TO, "graph": "reminder", "colour": "red"}, 400, "unknown_field"),
    ]
    for body, want_status, reason in cases:
        status, answer = await post_calls(server, body)
        assert (status, answer["error"]) == (want_status, reason), (body, answer)
        assert answer["message"]
    status, answer = await post_calls(server, cases[0][0])
    assert "...44 is on the do-not-call list" in answer["message"] and TO not in answer["message"]
    assert not fakes.twilio.create_requests  # nobody was called
    status, _ = await post_calls(server, cases[1][0], headers={"Authorization": "Bearer nope"})
    assert status == 401
    fakes.twilio.fail_create = [500]
    status, answer = await post_calls(
        server, {"to": "+15550005555", "graph": "reminder", "vars": {"name": "A", "time": "3"}}
    )
    assert (status, answer["error"]) == (502, "twilio_error") and "20500" in answer["message"]
    server.services.draining = True
    status, answer = await post_calls(server, cases[1][0])
    assert (status, answer["error"]) == (503, "busy")


async def test_status_and_amd_callbacks_are_signed_and_recorded(fakes, start_server):
    server = await start(start_server)
    status, body = await post_calls(
        server, {"to": TO, "graph": "reminder", "vars": {"name": "Ann", "time": "3 pm"}}
    )
    sid = body["call_sid"]
    heard: list[str] = []
    server.services.amd.subscribe(sid, heard.append)  # what a live call's stream would get
    assert (
        await signed_post(server, "/status", {"CallSid": sid, "CallStatus": "ringing"}, "x") == 403
    )
    assert await signed_post(server, "/amd", {"CallSid": sid, "AnsweredBy": "human"}, "x") == 403
    assert heard == []
    assert await signed_post(server, "/status", {"CallSid": sid, "CallStatus": "ringing"}) == 204
    assert (
        await signed_post(server, "/amd", {"CallSid": sid, "AnsweredBy": "machine_end_beep"}) == 204
    )
    form = {"CallSid": sid, "CallStatus": "completed", "CallDuration": "17"}
    assert await signed_post(server, "/status", form) == 204
    assert heard == ["machine_end_beep"]
    record = await server.services.records.store.get_call(sid)
    assert [(e["kind"], e["status"]) for e in record["status_history"]] == [
        ("status", "queued"),
        ("status", "ringing"),
        ("amd", "machine_end_beep"),
        ("status", "completed"),
    ]
    assert (record["answered_by"], record["call_status"], record["outcome"]) == (
        "machine",
        "completed",
        "completed",
    )
    assert await signed_post(server, "/status", {"CallSid": sid}) == 400

"""TwilioCallPlacer with the real REST client against the Twilio fake: the refusals (before
anything is called), the form Twilio gets (inline TwiML with the variables as stream
parameters, the signed callbacks, asynchronous AMD), Twilio's errors, the call's record."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest

from agent.graph.model import VarSpec
from agent.outbound.placing import DialRefused, DialRequest, normalize_number
from agent.outbound.twilio_placer import TwilioCallPlacer
from agent.records.dnc import DncList
from agent.records.outbound_store import OutboundRecords
from agent.records.store import Store
from tests.twilio.test_rest import rest  # noqa: F401  (the fixture)

REMINDER = SimpleNamespace(
    name="reminder", vars={"name": VarSpec(required=True), "time": VarSpec()}
)
TO, FROM = "+15551234567", "+15550000001"


@pytest.fixture
async def store(tmp_path):
    store = await Store.open(f"sqlite:///{tmp_path}/calls.db")
    yield store
    await store.close()


@pytest.fixture
def placer(store, rest):  # noqa: F811
    def make(from_number: str | None = FROM) -> TwilioCallPlacer:
        return TwilioCallPlacer(
            rest(),
            {"reminder": REMINDER},
            DncList(store.engine),
            OutboundRecords(store.engine),
            "https://sb.example.test",
            from_number,
        )

    return make


async def test_the_call_is_created_with_its_stream_callbacks_and_amd(fakes, store, placer):
    request = DialRequest(TO, "reminder", {"name": "Ann", "time": "3 pm"}, tag="c-1")
    placed = await placer().place(request)
    [created] = fakes.twilio.created_calls
    assert placed.call_sid == created.call_sid and placed.to == TO
    assert (created.value("To"), created.value("From"), created.value("Timeout")) == (
        TO,
        FROM,
        "30",
    )
    assert created.value("StatusCallback") == "https://sb.example.test/status"
    assert created.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert (created.value("MachineDetection"), created.value("AsyncAmd")) == (
        "DetectMessageEnd",
        "true",
    )
    assert created.value("AsyncAmdStatusCallback") == "https://sb.example.test/amd"
    stream = ET.fromstring(created.value("Twiml")).find("Connect/Stream")
    assert stream.get("url") == "wss://sb.example.test/ws"
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert params == {
        "graph": "reminder",
        "direction": "outbound",
        "from": FROM,
        "to": TO,
        "var.name": "Ann",
        "var.time": "3 pm",
    }
    assert all("Ann" not in v for k, v in created.form.items() if k != "Twiml")  # no URL has it
    call = await store.get_call(placed.call_sid)
    assert (call["direction"], call["call_status"], call["to"], call["tag"]) == (
        "outbound",
        "queued",
        TO,
        "c-1",
    )


@pytest.mark.parametrize(
    ("request_", "reason", "says"),
    [
        (DialRequest(TO, "reminder", {}), "missing_variable", "'name'"),
        (DialRequest(TO, "reminder", {"name": "  "}), "missing_variable", "'name'"),
        (
            DialRequest(TO, "reminder", {"name": "A", "tme": "3"}),
            "unknown_variable",
            "did you mean 'time'",
        ),
        (DialRequest(TO, "remindr", {"name": "A"}), "unknown_graph", "did you mean 'reminder'"),
        (DialRequest("555-1234", "reminder", {"name": "A"}), "invalid_number", "...34"),
    ],
)
async def test_refusals_name_what_failed_and_call_nobody(fakes, placer, request_, reason, says):
    with pytest.raises(DialRefused) as refused:
        await placer().place(request_)
    assert refused.value.reason == reason and says in str(refused.value)
    assert not fakes.twilio.create_requests


async def test_no_caller_id_and_a_listed_number_are_refused(fakes, store, placer):
    with pytest.raises(DialRefused) as refused:
        await placer(from_number=None).place(DialRequest(TO, "reminder", {"name": "A"}))
    assert refused.value.reason == "no_from_number" and "FROM_NUMBER" in str(refused.value)
    await DncList(store.engine).add("+1 555 123 4567", "cli")
    with pytest.raises(DialRefused) as refused:
        await placer().place(DialRequest(TO, "reminder", {"name": "A"}))
    assert refused.value.reason == "do_not_call" and TO not in str(refused.value)
    assert "...67 is on the do-not-call list" in str(refused.value)
    assert not fakes.twilio.create_requests


async def test_twilio_refusing_the_call_is_a_twilio_error_with_its_code(fakes, placer):
    fakes.twilio.fail_create = [500]
    with pytest.raises(DialRefused) as refused:
        await placer().place(DialRequest(TO, "reminder", {"name": "A"}))
    assert (refused.value.reason, refused.value.twilio_code) == ("twilio_error", 20500)


def test_numbers_are_normalised_to_e164():
    assert normalize_number(" +44 20 7946 0018 ") == "+442079460018"
    assert normalize_number("0044 20 7946 0018") == "+442079460018"
    assert normalize_number("+1 (555) 123-4567") == "+15551234567"
    for bad in ("5551234567", "+0123456789", "+1555abc4567", ""):
        with pytest.raises(DialRefused):
            normalize_number(bad)


async def test_twilio_refusing_the_number_says_which_way(fakes, placer):
    fakes.twilio.refuse_to = {TO: 21211, "+15557654321": 21215}
    with pytest.raises(DialRefused) as refused:
        await placer().place(DialRequest(TO, "reminder", {"name": "A"}))
    assert (refused.value.reason, refused.value.twilio_code) == ("invalid_number", 21211)
    with pytest.raises(DialRefused) as refused:
        await placer().place(DialRequest("+15557654321", "reminder", {"name": "A"}))
    assert (refused.value.reason, refused.value.twilio_code) == ("twilio_error", 21215)
    assert "geo permissions" in str(refused.value) and "+15557654321" not in str(refused.value)

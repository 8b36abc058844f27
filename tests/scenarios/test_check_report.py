"""Expectations against a run (agent/scenarios/check.py) and the report (report.py), on
made-up runs: no calls."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from agent.scenarios.check import Failure, evaluate
from agent.scenarios.model import Scenario
from agent.scenarios.report import Outcome, junit_xml, table
from agent.scenarios.run_data import RunData
from agent.sim.result import CallResult

WALL0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp()


def at(seconds: float) -> str:
    return datetime.fromtimestamp(WALL0 + seconds, UTC).isoformat()


def turn(t, role, text, source="caller", route=None, interrupted=False) -> dict:
    return {"role": role, "text": text, "source": source, "route": route,
            "interrupted": interrupted, "started_at": at(t), "ended_at": at(t + 1)}  # fmt: skip


def run_of(turns: list[dict], markers: dict[int, float], **record) -> RunData:
    result = CallResult("CA1", "MZ1", "AC1", "wss://x/ws", {}, closed_by="caller")
    result.timeline = [("closed", 30.0, "caller", 1000)]
    data = RunData(result=result, streams=[result], markers=markers, wall0=WALL0)
    data.record = {"turns": turns, "transfers": [], "messages": [], **record}
    return data


SCENARIO = Scenario.model_validate(
    {
        "name": "s",
        "steps": [
            {"say": "how much does it cost", "expect": {"route": "pricing", "says": "twenty"}},
            {"say": "bye", "expect": {"hangs_up": True, "message": {"name": "Ann"}}},
        ],
    }
)


def test_a_passing_run_has_no_failures():
    data = run_of(
        [
            turn(2.0, "caller", "how much does it cost"),
            turn(3.0, "agent", "Twenty dollars.", "route", "pricing"),
            turn(8.0, "caller", "bye"),
            turn(9.0, "agent", "Goodbye!", "call"),
        ],
        {-1: 0.0, 0: 1.5, 1: 7.5},
        messages=[{"name": "Ann Smith", "callback_number": "+15550001111"}],
    )
    data.result.closed_by = "server"
    assert evaluate(SCENARIO, data) == []


def test_the_first_failure_names_the_step_and_shows_the_transcript():
    data = run_of(
        [
            turn(2.0, "caller", "how much does it cost"),
            turn(3.0, "agent", "You said: how much does it cost.", "llm"),
        ],
        {-1: 0.0, 0: 1.5},
    )
    failures = evaluate(SCENARIO, data)
    first = failures[0]
    assert (first.step, first.expectation) == (0, "route: pricing")
    assert first.message == (
        "expected the cached answer of route pricing; got llm 'You said: how much does it cost.'"
    )
    assert "── step 1: say 'how much does it cost'" in first.transcript
    assert any("agent   [llm] You said" in line for line in first.transcript)
    # Step 2 never ran: each of its expectations says so.
    later = [f for f in failures if f.step == 1]
    assert {f.expectation for f in later} == {"hangs_up", "message"}
    assert all("the call ended before step 2" in f.message for f in later)


def test_a_call_that_could_not_run_is_one_failure():
    [failure] = evaluate(SCENARIO, RunData(error="GraphError: bad"))
    assert failure.step is None and failure.message == "GraphError: bad"


def test_three_passes_of_five_is_a_failure_with_its_rate():
    flaky = Outcome("receptionist", "flaky")
    miss = [Failure(0, "route: pricing", "expected ...", ("  2.00s  caller  hi",))]
    flaky.runs = [[], miss, [], miss, []]
    flaky.seconds = [1.0] * 5
    steady = Outcome("receptionist", "steady", runs=[[], []], seconds=[1.0, 1.0])
    text = table([flaky, steady])
    assert "receptionist · flaky      3/5  step 1: route: pricing: expected ..." in text
    assert "receptionist · steady     2/2  ok" in text
    assert "1 of 2 scenarios passed" in text and "  2.00s  caller  hi" in text
    [suite] = ET.fromstring(junit_xml([flaky, steady]).split("\n", 1)[1])
    assert suite.get("failures") == "1"
    flaky_case, steady_case = suite
    [failure] = flaky_case.findall("failure")
    assert failure.get("message").startswith("3/5 runs passed; step 1: route: pricing")
    assert steady_case.find("failure") is None

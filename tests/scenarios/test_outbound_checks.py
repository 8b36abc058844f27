"""Outbound scenarios without calls: the expectations only an outbound call has
(agent/scenarios/check_outbound.py) on made-up runs, failing when they should, and the
callee's scripts (agent/scenarios/caller.py)."""

from __future__ import annotations

from agent.scenarios.caller import GREETING_STEP, MARK, build_script, callee_script
from agent.scenarios.check import evaluate
from agent.scenarios.model import Scenario
from agent.scenarios.report import describe
from agent.sim import script as s
from tests.scenarios.test_check_report import run_of, turn

VOICEMAIL = "Hi Ann, this is Acme with a reminder of your appointment at 3 pm. Goodbye!"
GREETING = "Hi Ann, this is Acme calling to remind you of your appointment at 3 pm."
MACHINE = "Hi, you've reached Ann. Please leave a message after the tone."


def person(**expect) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "person",
            "outbound": {"vars": {"name": "Ann", "time": "3 pm"}, "expect": expect},
            "steps": [{"say": "Yes, I can.", "expect": {"says_variable": "name"}}],
        }
    )


def machine(**expect) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "machine",
            "outbound": {
                "vars": {"name": "Ann", "time": "3 pm"},
                "answers": "voicemail",
                "greeting": MACHINE,
                "expect": expect,
            },
        }
    )


def person_run(greeting: str = GREETING, **record):
    data = run_of(
        [
            turn(0.5, "caller", "Hello?"),
            turn(1.5, "agent", greeting, "call"),
            turn(7.0, "caller", "Yes, I can."),
            turn(8.0, "agent", "Great, see you then, Ann!", "llm"),
        ],
        {GREETING_STEP: 0.0, 0: 6.0},
        **({"answered_by": "human", "answered_reason": "amd:human"} | record),
    )
    data.voicemail = VOICEMAIL
    return data


def machine_run(said: list[str], heard_at: float = 5.5, **record):
    data = run_of(
        [turn(0.5, "caller", MACHINE), *(turn(heard_at, "agent", t, "call") for t in said)],
        {GREETING_STEP: 0.0},
        **(
            {
                "answered_by": "machine",
                "answered_reason": "amd:machine_end_beep",
                "end_reason": "an answering machine: the agent left the voicemail message",
            }
            | record
        ),
    )
    data.voicemail = VOICEMAIL
    data.result.closed_by = "api"
    data.result.timeline = [("say_end", 5.0, "beep"), ("closed", 12.0, "api", 1000)]
    data.result.agent_speech_segments = [(heard_at, heard_at + 6)]
    return data


def test_the_greeting_says_the_variables_and_no_voicemail_was_left():
    assert evaluate(person(says_variable=["name", "time"], voicemail=False), person_run()) == []


def test_a_variable_the_agent_did_not_say_fails_naming_it():
    greeting = "Hi Ann, this is Acme calling to remind you of your appointment."
    [failure] = evaluate(person(says_variable=["name", "time"]), person_run(greeting))
    assert failure.step == GREETING_STEP and failure.expectation == "says_variable: [name, time]"
    assert failure.message == f"time ('3 pm') not in what the agent said: call {greeting!r}"
    assert describe(failure).startswith("the answer: says_variable")
    assert any("caller  Hello?" in line for line in failure.transcript)


def test_says_variable_after_a_step_reads_that_steps_answers():
    data = person_run()
    assert evaluate(person(), data) == []
    data.record["turns"][-1]["text"] = "Great, see you then!"
    [failure] = evaluate(person(), data)
    assert failure.step == 0 and failure.message.startswith("name ('Ann') not in")


def test_a_person_greeted_is_not_a_voicemail():
    [failure] = evaluate(person(voicemail=True), person_run())
    assert failure.message.startswith("expected an answering machine; the record says ")
    [failure] = evaluate(person(voicemail=False), person_run(VOICEMAIL, answered_by="machine"))
    assert failure.message.startswith(
        "expected no voicemail; the record says answered_by 'machine'"
    )


def test_the_voicemail_once_after_the_beep_then_the_agent_hangs_up():
    expect = {"voicemail": True, "says_variable": ["name", "time"]}
    assert evaluate(machine(**expect), machine_run([VOICEMAIL])) == []


def test_each_way_a_voicemail_can_go_wrong_fails():
    def why(data) -> str:
        [failure] = evaluate(machine(voicemail=True), data)
        return failure.message

    assert why(machine_run([VOICEMAIL, VOICEMAIL])).startswith(
        "expected the voicemail once; it was said 2 times"
    )
    assert why(machine_run([])).startswith("expected the voicemail once; it was said not")
    assert why(machine_run(["Hi Ann!", VOICEMAIL])).startswith(
        "the agent said more than the voicemail: call 'Hi Ann!'"
    )
    early = machine_run([VOICEMAIL], heard_at=4.2)
    assert why(early) == "the voicemail was heard at 4.20 s, before the beep ended (5.00 s)"
    [failure] = evaluate(machine(voicemail=True), early)
    assert failure.transcript[-2:] == (
        f"   4.20s  agent   [call] {VOICEMAIL}",
        "   5.00s  (the machine's beep ends)",
    )
    assert why(machine_run([VOICEMAIL], answered_by="human")).startswith(
        "expected an answering machine; the record says answered_by 'human'"
    )
    assert why(machine_run([VOICEMAIL], answered_reason=None)) == (
        "expected an answering machine; the record says answered_by 'machine' (no reason)"
    )
    assert why(machine_run([VOICEMAIL], end_reason="the caller hung up")) == (
        "expected the record's end reason to say voicemail; it says 'the caller hung up'"
    )
    hung_up = machine_run([VOICEMAIL])
    hung_up.result.closed_by = "caller"
    assert why(hung_up) == "expected the agent to hang up after the voicemail; the caller did"


def _labels(script) -> list:
    return [(type(step).__name__, getattr(step, "text", None)) for step in script]


def test_the_callee_scripts():
    # A person: the marker, their hello, the greeting heard out, then the steps.
    scenario = person()
    audio = {"Hello?": b"\xff" * 160, "Yes, I can.": b"\xff" * 160}
    labels = _labels(callee_script(scenario, audio))
    assert labels[:4] == [
        ("Say", f"{MARK}{GREETING_STEP}"),
        ("Say", "Hello?"),
        ("WaitForAgentAudio", None),
        ("WaitForAgentSilence", None),
    ]
    assert ("Say", "Yes, I can.") in labels
    # A machine: its greeting, the beep, then it records until the call ends.
    steps = callee_script(machine(), {MACHINE: b"\xff" * 160})
    assert _labels(steps)[:4] == [
        ("Say", f"{MARK}{GREETING_STEP}"),
        ("Say", MACHINE),
        ("Pause", None),
        ("Say", "beep"),
    ]
    assert isinstance(steps[-1], s.Pause) and steps[-1].seconds == 90


def test_no_answer_listens_as_long_as_it_says():
    def pauses(no_answer) -> list[float]:
        scenario = Scenario.model_validate(
            {
                "name": "half",
                "steps": [{"say": "I'm calling about", "expect": {"no_answer": no_answer}}],
            }
        )
        script = build_script(scenario, {"I'm calling about": b"\xff" * 160})
        return [step.seconds for step in script if isinstance(step, s.Pause)]

    assert pauses(1200) == [1.2]
    assert pauses(True) == [3.0]
    assert pauses(False) == []

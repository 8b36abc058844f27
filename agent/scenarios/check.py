"""Checking a run against its scenario's expectations, and the transcript a failure shows.

Each step's expectations look at what followed it: the call record's turns (agent/records:
source "route" with its route, "llm", "fallback", "message", "call") that began between the
step's marker and the next step's (agent/scenarios/run.py), the transfers requested then,
and what the caller heard (the emulator's audio runs, for latency). A message and a hang-up
are checked at the end of the call. On an outbound call, `outbound.expect` looks at what
followed the answer (from the greeting step's marker to the first step's): the greeting, or
the voicemail (agent/scenarios/check_outbound.py). The first failure of a run is the one
reported, with the transcript from the step before it to the step after.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from agent.scenarios.caller import GREETING_STEP, MARK
from agent.scenarios.check_outbound import BEEP, OUTBOUND_CHECKS, check_outbound
from agent.scenarios.live import loosely_matches, loosely_says, loosely_says_all
from agent.scenarios.model import Expect, Scenario, Step
from agent.scenarios.run_data import RunData
from agent.scenarios.turns import Turn, record_turns
from agent.scenarios.turns import answers as _answers
from agent.scenarios.turns import got as _got
from agent.scenarios.turns import seconds as _seconds
from agent.scenarios.turns import source as _source


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold: where, which, what happened instead."""

    step: int | None  # the step's index; None: the call itself
    expectation: str  # as written, e.g. "route: pricing"
    message: str  # what happened instead
    transcript: tuple[str, ...] = ()


def describe_step(step: Step) -> str:
    value = getattr(step, step.action)
    return f"{step.action} {value!r}" if step.action != "hang_up" else "hang_up"


def evaluate(scenario: Scenario, data: RunData, *, loose: bool = False) -> list[Failure]:
    """Every failed expectation of the run, in step order (empty: it passed).

    `loose` (`graph test --live`): `says` and `matches` on the LLM's own answers are checked
    loosely (agent/scenarios/live.py)."""
    if data.error is not None or data.result is None:
        return [Failure(None, "the call runs", data.error or "no call result")]
    turns = record_turns(data)
    failures: list[Failure] = []
    for _, what in [e for r in data.streams for e in r.protocol_errors]:
        failures.append(Failure(None, "Twilio's Media Streams protocol", what))
    variables = scenario.outbound.vars if scenario.outbound is not None else {}
    for k, step in _expecting_steps(scenario):
        start = data.markers.get(k)
        checks = list(_expectations(step.expect))
        if start is None:
            never = (
                "the callee's stream never began"
                if k == GREETING_STEP
                else f"the call ended before step {k + 1} ({describe_step(step)})"
            )
            failures += [Failure(k, name, never) for name, _ in checks]
            continue
        end = _next_marker(data, k)
        window = [t for t in turns if start <= t.t < end]
        for name, value in checks:
            if name in OUTBOUND_CHECKS:
                problem = check_outbound(name, value, _answers(window), data, variables, start)
            else:
                problem = _check(name, value, step, window, data, start, end, loose)
            if problem is not None:
                failures.append(Failure(k, f"{name}: {_show(value)}", problem))
    if failures:
        first = failures[0]
        failures[0] = Failure(
            first.step, first.expectation, first.message, transcript(scenario, data, first.step)
        )
    return failures


def _expecting_steps(scenario: Scenario):
    """(index, step) of every step with expectations; an outbound call's answer first, as
    the greeting step (a step whose action is the callee's hello or greeting)."""
    outbound = scenario.outbound
    if outbound is not None and outbound.expect is not None:
        heard = outbound.hello if outbound.answers == "person" and outbound.hello else None
        line = heard or outbound.greeting
        yield GREETING_STEP, Step(say=line, expect=outbound.expect)
    for k, step in enumerate(scenario.steps):
        if step.expect is not None:
            yield k, step


def _show(value) -> str:
    return value if isinstance(value, str) else str(value).replace("'", "")


def _expectations(expect: Expect):
    for name in type(expect).model_fields:
        value = getattr(expect, name)
        if value is not None:
            yield name, value


def _next_marker(data: RunData, k: int) -> float:
    later = [t for step, t in data.markers.items() if step > k]
    return min(later) if later else math.inf


def _check(name, value, step: Step, window, data: RunData, start, end, loose=False) -> str | None:
    answers = _answers(window)
    said = " ".join(t.text for t in answers)
    if loose and name in ("says", "matches") and any(t.source == "llm" for t in answers):
        return _check_loosely(name, value, answers, said)
    if name == "route":
        if any(t.source == "route" and t.route == value for t in answers):
            return None
        return f"expected the cached answer of route {value}; got {_got(answers)}"
    if name in ("llm", "fallback"):
        found = any(t.source == name for t in answers)
        if found == bool(value):
            return None
        return f"expected {'an' if value else 'no'} answer by the {name}; got {_got(answers)}"
    if name == "says":
        words = [value] if isinstance(value, str) else value
        missing = [w for w in words if w.lower() not in said.lower()]
        return f"{missing[0]!r} not in what the agent said: {_got(answers)}" if missing else None
    if name == "matches":
        if re.search(value, said, re.IGNORECASE):
            return None
        return f"/{value}/ does not match what the agent said: {_got(answers)}"
    if name == "no_answer":
        if bool(answers) != bool(value):
            return None
        return f"expected {'no answer' if value else 'an answer'}; got {_got(answers)}"
    if name == "interrupted":
        cut = any(t.interrupted for t in answers)
        if cut == bool(value):
            return None
        return f"expected the reply {'cut off' if value else 'heard whole'}; got {_got(answers)}"
    if name == "transfer":
        return _check_transfer(value, data, start)
    if name == "message":
        return _check_message(value, data)
    if name == "hangs_up":
        return _check_hang_up(bool(value), data, start)
    if name == "within_ms":
        return _check_latency(value, step, data, start, end)
    return f"cannot check {name}"


def _check_loosely(name: str, value, answers: list[Turn], said: str) -> str | None:
    """`says`/`matches` on an answer the real LLM wrote (`--live`)."""
    if name == "says":
        ok = loosely_says(value, said) if isinstance(value, str) else loosely_says_all(value, said)
        what = "not said, even loosely"
    else:
        ok = loosely_matches(value, said)
        what = "not matched, even loosely"
    return None if ok else f"{_show(value)} {what}: {_got(answers)}"


def _check_transfer(destination: str, data: RunData, start: float) -> str | None:
    transfers = (data.record or {}).get("transfers", [])
    for transfer in transfers:
        at = _seconds(transfer["requested_at"], data.wall0)
        if transfer["destination"] == destination and at >= start - 0.5:
            return None
    if not transfers:
        return f"no transfer to {destination}"
    got = ", ".join(f"{t['destination']} ({t['status']})" for t in transfers)
    return f"no transfer to {destination} after this step; transfers: {got}"


def _check_message(fields: dict[str, str], data: RunData) -> str | None:
    messages = (data.record or {}).get("messages", [])
    for message in messages:
        if all(_field_matches(key, want, message.get(key)) for key, want in fields.items()):
            return None
    if not messages:
        return "no message was taken"
    got = "; ".join(
        ", ".join(f"{k}={m.get(k)!r}" for k in ("name", "callback_number", "about", "reason"))
        for m in messages
    )
    return f"no message with these fields; taken: {got}"


def _field_matches(key: str, want: str, got) -> bool:
    if got is None:
        return False
    if key == "callback_number":
        return re.sub(r"\D", "", want) in re.sub(r"\D", "", str(got))
    return want.lower() in str(got).lower()


def _check_hang_up(expected: bool, data: RunData, start: float) -> str | None:
    last = data.streams[-1]
    closed = next((e[1] for e in reversed(last.timeline) if e[0] == "closed"), math.inf)
    by_agent = (last.closed_by in ("server", "api") or data.hung_up_by_rest) and closed >= start
    if by_agent == expected:
        return None
    who = {"caller": "the caller", "server": "the agent", "api": "the agent (REST)"}
    ended = who.get(last.closed_by, last.closed_by)
    return f"expected {'the agent' if expected else 'the caller'} to end the call; {ended} did"


def _check_latency(limit_ms: int, step: Step, data: RunData, start, end) -> str | None:
    timeline = [e for e in data.timeline() if start <= e[1] < end]
    if step.press is not None:
        ends = [e[1] for e in timeline if e[0] == "dtmf"]
    else:
        ends = [e[1] for e in timeline if e[0] == "say_end" and e[2] == step.line]
    if not ends:
        return "the caller's step did not happen"
    finished = ends[-1]
    heard = sorted(seg_start for r in data.streams for seg_start, _ in r.agent_speech_segments)
    answer = next((t for t in heard if finished <= t < end), None)
    if answer is None:
        return "the caller heard no answer"
    took = (answer - finished) * 1000
    return None if took <= limit_ms else f"the answer came after {took:.0f} ms"


# --- the transcript ------------------------------------------------------------------------


def transcript(scenario: Scenario, data: RunData, step: int | None) -> tuple[str, ...]:
    """The call from the step before `step` to the step after it (all of it for None)."""
    lines: list[tuple[float, str]] = []
    for k, t in data.markers.items():
        if k == GREETING_STEP:
            continue
        lines.append((t - 1e-6, f"── step {k + 1}: {describe_step(scenario.steps[k])}"))
    for turn in record_turns(data):
        who = "caller" if turn.role == "caller" else "agent "
        tag = (
            ""
            if turn.role == "caller"
            else f"[{_source(turn)}{', cut off' if turn.interrupted else ''}] "
        )
        lines.append((turn.t, f"{turn.t:7.2f}s  {who}  {tag}{turn.text}"))
    for result in data.streams:
        for t, what in result.timeouts:
            if MARK not in what:
                lines.append((t, f"{t:7.2f}s  (the caller gave up waiting: {what})"))
        for event in result.timeline:  # an answering machine's beep (outbound)
            if event[0] == "say_end" and event[2] == BEEP:
                lines.append((event[1], f"{event[1]:7.2f}s  (the machine's beep ends)"))
        for dial in result.dials:
            lines.append(
                (math.inf, f"          (Twilio dialled {dial['number']}: {dial['status']})")
            )
    lines.sort(key=lambda x: x[0])
    if step is None:
        return tuple(text for _, text in lines)
    lo = data.markers.get(step - 1, data.markers.get(GREETING_STEP, 0.0)) if step > 0 else 0.0
    hi = _next_marker(data, step + 1) if step is not None else math.inf
    return tuple(text for t, text in lines if lo - 1e-3 <= t < hi or t == math.inf)

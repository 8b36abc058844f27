"""The expectations only an outbound call has: `says_variable` and `voicemail`.

- `says_variable: name` (or a list): the agent's words after the step (for `outbound.expect`:
  the greeting) contain the value the scenario's `outbound.vars` gives that call variable,
  case-insensitive. What it tests is the whole path of a variable: POST /calls, the TwiML's
  `<Parameter>`, the stream's parameters, the rendered greeting, prompt or voicemail.
- `voicemail: true`: the record says a machine answered, and why (`answered_reason`: AMD's
  verdict or the words); the agent's only words are the graph's `call.voicemail` rendered with
  the call's variables (`RunData.voicemail`), said once; the caller heard none of it before
  the machine's beep had ended; the agent ended the call, and the record's end reason says
  voicemail. `false`: no voicemail left, no machine in the record.
"""

from __future__ import annotations

from collections.abc import Mapping

from agent.scenarios.run_data import RunData
from agent.scenarios.turns import Turn, got

OUTBOUND_CHECKS = ("says_variable", "voicemail")
BEEP = "beep"  # the emulator's label of an answering machine's beep (agent/sim/outbound.py)


def check_outbound(
    name: str, value, answers: list[Turn], data: RunData, variables: Mapping[str, str], start
) -> str | None:
    """None if the expectation holds, else what happened instead."""
    if name == "says_variable":
        return _says_variable([value] if isinstance(value, str) else value, answers, variables)
    return _voicemail(bool(value), answers, data, start)


def _says_variable(names: list[str], answers: list[Turn], variables) -> str | None:
    said = _plain(" ".join(t.text for t in answers))
    for name in names:
        wanted = variables.get(name, "")
        if not wanted or _plain(wanted) not in said:
            return f"{name} ({wanted!r}) not in what the agent said: {got(answers)}"
    return None


def _plain(text: str) -> str:
    return " ".join(text.lower().split())


def _voicemail(expected: bool, answers: list[Turn], data: RunData, start: float) -> str | None:
    record = data.record or {}
    kind, why = record.get("answered_by"), record.get("answered_reason")
    answered = f"the record says answered_by {kind!r} ({why or 'no reason'})"
    message = _plain(data.voicemail or "")
    left = [t for t in answers if message and _plain(t.text) == message]
    if not expected:
        if kind == "machine" or left:
            return f"expected no voicemail; {answered}, the agent said: {got(answers)}"
        return None
    if kind != "machine" or not why:
        return f"expected an answering machine; {answered}"
    if len(left) != 1:
        times = f"{len(left)} times" if left else "not"
        return f"expected the voicemail once; it was said {times}: {got(answers)}"
    if others := [t for t in answers if t not in left]:
        return f"the agent said more than the voicemail: {got(others)}"
    too_early = _heard_before_beep(data, start)
    if too_early is not None:
        return too_early
    last = data.streams[-1]
    if not (last.closed_by in ("server", "api") or data.hung_up_by_rest):
        return f"expected the agent to hang up after the voicemail; the {last.closed_by} did"
    reason = record.get("end_reason") or ""
    if "voicemail" not in reason:
        return f"expected the record's end reason to say voicemail; it says {reason!r}"
    return None


def _heard_before_beep(data: RunData, start: float) -> str | None:
    beeps = [e[1] for r in data.streams for e in r.timeline if e[0] == "say_end" and e[2] == BEEP]
    if not beeps:
        return None  # no beep on the line: nothing to be early for
    heard = sorted(t for r in data.streams for t, _ in r.agent_speech_segments if t >= start)
    if heard and heard[0] < beeps[0]:
        return (
            f"the voicemail was heard at {heard[0]:.2f} s, before the beep ended ({beeps[0]:.2f} s)"
        )
    return None

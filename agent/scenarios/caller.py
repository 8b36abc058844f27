"""The emulated caller's script (agent/sim/script.py steps) for a scenario's steps.

Before each step the caller "says" a marker: one 20 ms frame of silence named `#STEP n`
(the line carries silence then anyway), so the call's timeline shows when each step began,
on whichever stream of the call is live; agent/scenarios/check.py cuts the call into steps
by them. After a step the caller hears the agent out (its answer starts within
ANSWER_TIMEOUT_S, then a short quiet), except:

- a `say` followed by `barge_in` does not wait: its reply is the one talked over;
- a step expected to get no answer listens NO_ANSWER_WAIT_S;
- a step expecting a transfer nobody takes (`dial` not completed) waits for the call to come
  back on a new stream and hears the agent out there.
"""

from __future__ import annotations

from agent.scenarios.model import Scenario, Step
from agent.sim import script as s
from agent.sim.mulaw import SILENCE

MARK = "#STEP "
MARK_AUDIO = bytes([SILENCE]) * 160  # 20 ms of mu-law silence
GREETING_STEP = -1
ANSWER_TIMEOUT_S = 12.0  # how long a step waits for the agent to start answering
NO_ANSWER_WAIT_S = 3.0  # a step expected to get no answer listens this long


def build_script(scenario: Scenario, audio: dict[str, bytes]) -> s.Script:
    """The caller's script: the greeting heard out, then each step after its marker."""
    steps: s.Script = [s.Say(MARK_AUDIO, f"{MARK}{GREETING_STEP}")]
    if scenario.steps[0].barge_in is None:
        steps += _listen()
    stream = 1
    for k, step in enumerate(scenario.steps):
        steps.append(s.Say(MARK_AUDIO, f"{MARK}{k}"))
        following = scenario.steps[k + 1] if k + 1 < len(scenario.steps) else None
        if following is not None and following.barge_in is not None and step.line:
            # The reply to this line is the one the next step talks over (and checks).
            steps.append(s.Say(audio[step.line], step.line))
            continue
        steps += _step(step, audio)
        if step.expect and step.expect.transfer and scenario.dial != "completed":
            # Nobody took it: the call comes back on a new stream; hear the agent out there.
            stream += 1
            steps += [s.WaitForStream(stream, timeout=60), *_listen()]
    steps.append(s.WaitForAgentSilence(pause=0.5, timeout=30))  # linger, as people do
    return steps


def _listen(no_answer: bool = False) -> list:
    if no_answer:
        return [s.Pause(NO_ANSWER_WAIT_S)]
    return [
        s.WaitForAgentAudio(timeout=ANSWER_TIMEOUT_S),
        s.WaitForAgentSilence(pause=0.3, timeout=30),
    ]


def _step(step: Step, audio: dict[str, bytes]) -> list:
    quiet = bool(step.expect and step.expect.no_answer)
    if step.say is not None:
        return [s.Say(audio[step.say], step.say), *_listen(quiet)]
    if step.press is not None:
        return [*(s.Dtmf(d) for d in step.press), *_listen(quiet)]
    if step.silent is not None:
        return [s.Pause(step.silent), s.WaitForAgentSilence(pause=0.3, timeout=30)]
    if step.barge_in is not None:
        return [
            s.BargeIn(step.after_ms, audio[step.barge_in], step.barge_in, ANSWER_TIMEOUT_S),
            *_listen(quiet),
        ]
    return [s.HangUp()]

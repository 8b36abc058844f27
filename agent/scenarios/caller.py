"""The emulated caller's script (agent/sim/script.py steps) for a scenario's steps.

Before each step the caller "says" a marker: one 20 ms frame of silence named `#STEP n`
(the line carries silence then anyway), so the call's timeline shows when each step began,
on whichever stream of the call is live; agent/scenarios/check.py cuts the call into steps
by them. After a step the caller hears the agent out (its answer starts within
ANSWER_TIMEOUT_S, then a short quiet), except:

- a `say` followed by `barge_in` does not wait: its reply is the one talked over;
- a step expected to get no answer stays silent as long as `no_answer` says (true:
  NO_ANSWER_DEFAULT_MS), then goes on: its window ends there;
- a step expecting a transfer nobody takes (`dial` not completed) waits for the call to come
  back on a new stream and hears the agent out there.

An outbound call (`outbound:`) is answered by the callee (agent/sim/outbound.py, its
`Callee.script`): a person says `hello` as they pick up (the greeting step's audio), hears
the agent out, then does the steps; an answering machine plays its greeting and a beep, then
records until the call ends (`callee_script`).
"""

from __future__ import annotations

from agent.scenarios.model import NO_ANSWER_DEFAULT_MS, Scenario, Step
from agent.sim import script as s
from agent.sim.mulaw import BEEP_S, SILENCE, beep

MARK = "#STEP "
MARK_AUDIO = bytes([SILENCE]) * 160  # 20 ms of mu-law silence
GREETING_STEP = -1
ANSWER_TIMEOUT_S = 12.0  # how long a step waits for the agent to start answering
MACHINE_BEEP_GAP_S = 0.15  # an answering machine: its greeting, this gap, the beep


def callee_script(scenario: Scenario, audio: dict[str, bytes]) -> s.Script:
    """An outbound call's callee: a person (`build_script`, their hello first) or an
    answering machine (greeting, beep, then it records until the call ends)."""
    outbound = scenario.outbound
    assert outbound is not None
    if outbound.answers == "person":
        return build_script(scenario, audio)
    return [
        s.Say(MARK_AUDIO, f"{MARK}{GREETING_STEP}"),
        s.Say(audio[outbound.greeting], outbound.greeting),
        s.Pause(MACHINE_BEEP_GAP_S),
        s.Say(beep(BEEP_S), "beep"),
        s.Pause(scenario.max_duration_s),
    ]


def build_script(scenario: Scenario, audio: dict[str, bytes]) -> s.Script:
    """The caller's script: the greeting heard out, then each step after its marker. On an
    outbound call, the person called: their hello, the agent's greeting heard out, the steps."""
    steps: s.Script = [s.Say(MARK_AUDIO, f"{MARK}{GREETING_STEP}")]
    hello = scenario.outbound.hello if scenario.outbound is not None else ""
    if hello:
        steps.append(s.Say(audio[hello], hello))
    if not scenario.steps or scenario.steps[0].barge_in is None:
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


def _listen(no_answer_ms: int = 0) -> list:
    if no_answer_ms:
        return [s.Pause(no_answer_ms / 1000)]
    return [
        s.WaitForAgentAudio(timeout=ANSWER_TIMEOUT_S),
        s.WaitForAgentSilence(pause=0.3, timeout=30),
    ]


def _step(step: Step, audio: dict[str, bytes]) -> list:
    quiet = no_answer_ms(step)
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


def no_answer_ms(step: Step) -> int:
    """How long the caller stays silent after `step` for its `no_answer` (0: it listens)."""
    wait = step.expect.no_answer if step.expect is not None else None
    if wait is None or wait is False:
        return 0
    return NO_ANSWER_DEFAULT_MS if wait is True else int(wait)

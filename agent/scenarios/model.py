"""The conversation-tests file (`graphs/NAME.tests.yaml`) as pydantic models.

A file holds scenarios for one graph; a scenario is a list of caller steps, each with what
the caller does (exactly one of `say`, `press`, `silent`, `barge_in`, `hang_up`) and what
must follow it (`expect`). The JSON Schema (`graphs/tests.schema.json`) is generated from
these models (`python -m agent graph test --schema`), so editors autocomplete; the checks
the models cannot make (names known to the graph, a pinned time without hours, the graph's
call variables) are in agent/scenarios/read.py.

A scenario with `outbound:` is the agent's own call (a graph with `vars:`): placed through
the server's POST /calls, answered by a person (who says `hello`, then does the steps) or an
answering machine (its greeting, a beep; no steps), with `outbound.expect` on what follows
the answer (the greeting, or the voicemail).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.graph.loader import TESTS_SUFFIX
from agent.graph.model import HoursSettings

ACTIONS = ("say", "press", "silent", "barge_in", "hang_up")
DIAL_OUTCOMES = ("completed", "busy", "no-answer", "failed")
# Twilio's AMD verdicts (AnsweredBy, asynchronous AMD with DetectMessageEnd)
AMD_VERDICTS = (
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
)
NO_ANSWER_DEFAULT_MS = 3000  # `no_answer: true` listens this long
SUFFIX = TESTS_SUFFIX


class ToolReply(BaseModel):
    """The LLM calls a tool instead of speaking (e.g. transfer_call, end_call)."""

    model_config = ConfigDict(extra="forbid")

    tool: str = Field(
        description="The function the LLM calls: transfer_call, take_message, end_call "
        "(arguments: goodbye) or do_not_call."
    )
    arguments: dict[str, Any] = Field(default_factory=dict, description="Its arguments.")


class Expect(BaseModel):
    """What must follow a step, until the caller's next step (or the end of the call)."""

    model_config = ConfigDict(extra="forbid")

    route: str | None = Field(
        None, description="Answered from the audio cache by this route of the router."
    )
    llm: bool | None = Field(None, description="true: answered by the LLM (or local responder).")
    fallback: bool | None = Field(
        None, description="true: answered with the graph's fallback phrase (a provider failed)."
    )
    says: str | list[str] | None = Field(
        None, description="Words (case-insensitive) in what the agent said; a list: all of them."
    )
    matches: str | None = Field(
        None, description="A regular expression (Python, case-insensitive) the answer matches."
    )
    no_answer: bool | Annotated[int, Field(ge=100, le=30000)] | None = Field(
        None,
        description="The agent says nothing after this step (a half turn it should wait out) "
        f"while the caller stays silent: true for {NO_ANSWER_DEFAULT_MS} ms, or a number of "
        "ms (longer than the graph takes to answer a finished turn, or it proves nothing). "
        "false: an answer.",
    )
    interrupted: bool | None = Field(
        None, description="true: the agent's reply was cut off (the caller talked over it)."
    )
    transfer: str | None = Field(
        None, description="The call is put through to this destination of the graph's transfer:."
    )
    message: dict[str, str] | None = Field(
        None,
        description="A message is taken by the end of the call with these fields (name, "
        "callback_number, about, reason): each value contained in the field, case-insensitive.",
    )
    hangs_up: bool | None = Field(None, description="true: the agent ends the call.")
    within_ms: int | None = Field(
        None,
        gt=0,
        description="The caller hears the answer within this many ms of finishing the step.",
    )
    says_variable: str | list[str] | None = Field(
        None,
        description="Outbound calls: what the agent said contains the value this call "
        "variable has in the scenario's outbound.vars (case-insensitive); a list: each one's.",
    )
    voicemail: bool | None = Field(
        None,
        description="Outbound calls: true: an answering machine got the graph's "
        "call.voicemail (with the call's variables) once, all of it after the beep, then the "
        "agent hung up, and the record says a machine answered and why. false: no voicemail "
        "was left (a person was greeted).",
    )


class Step(BaseModel):
    """One thing the caller does; `expect` says what must follow it."""

    model_config = ConfigDict(extra="forbid")

    say: str | None = Field(None, description="The caller says this line.")
    press: str | None = Field(
        None, pattern=r"^[0-9*#]+$", description="The caller presses these keys (0-9, *, #)."
    )
    silent: float | None = Field(
        None, gt=0, le=120, description="The caller stays silent for this many seconds."
    )
    barge_in: str | None = Field(
        None, description="The caller says this line over the agent's next reply."
    )
    after_ms: int = Field(
        600, ge=0, description="barge_in: how long after the reply starts the caller talks."
    )
    hang_up: bool | None = Field(None, description="true: the caller hangs up.")
    reply: str | ToolReply | None = Field(
        None,
        description="The LLM's scripted reply to this line (cloud graphs; replaced by the real "
        "LLM with --live, whose wording `says`/`matches` then check loosely). Unscripted lines "
        "get 'You said: LINE.'",
    )
    expect: Expect | None = Field(None, description="What must follow this step.")

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        given = [a for a in ACTIONS if getattr(self, a) not in (None, False)]
        if len(given) != 1:
            got = ", ".join(given) if given else "none"
            raise ValueError(f"a step does exactly one of {', '.join(ACTIONS)} (got {got})")
        if self.reply is not None and not (self.say or self.barge_in):
            raise ValueError("reply goes with say or barge_in (the line the LLM answers)")
        return self

    @property
    def action(self) -> str:
        return next(a for a in ACTIONS if getattr(self, a) not in (None, False))

    @property
    def line(self) -> str | None:
        """What the caller says in this step (None: nothing)."""
        return self.say or self.barge_in


class Outbound(BaseModel):
    """The agent calls out: the call is placed through the server's POST /calls (the real
    Twilio REST client against the Twilio fake) and the emulator answers as the callee."""

    model_config = ConfigDict(extra="forbid")

    vars: dict[str, str] = Field(
        default_factory=dict,
        description="The call's variables (the graph's vars:; every required one), e.g. "
        "{name: Ann, time: 3 pm}.",
    )
    answers: Literal["person", "voicemail"] = Field(
        "person",
        description="Who picks up: a person (says `hello`, hears the agent out, then does the "
        "steps) or an answering machine (its `greeting`, a beep, then it records: no steps).",
    )
    hello: str = Field(
        "Hello?", description="person: what they say as they pick up ('': they wait in silence)."
    )
    greeting: str = Field(
        "Hi, you've reached this number. Please leave a message after the tone.",
        description="voicemail: the machine's greeting, before its beep.",
    )
    amd: Literal[AMD_VERDICTS] | None = Field(  # type: ignore[valid-type]
        None,
        description="Twilio's AMD verdict (AnsweredBy) posted to the server; default: what "
        "DetectMessageEnd reports, human after a person's hello, machine_end_beep after a "
        "machine's beep.",
    )
    expect: Expect | None = Field(
        None,
        description="What must follow the answer, before the first step: the greeting (a "
        "person) or the voicemail (a machine).",
    )

    @model_validator(mode="after")
    def _timeable(self) -> Outbound:
        timed = self.expect is not None and self.expect.within_ms is not None
        if timed and (self.answers == "voicemail" or not self.hello):
            raise ValueError(
                "expect.within_ms times the answer to a person's hello; there is none here"
            )
        return self


class Scenario(BaseModel):
    """One scripted call."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Unique in the file; --scenario picks it.")
    description: str = Field("", description="What the scenario shows.")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Settings for this call's server (over the file's env), e.g. TRANSFER_NUMBER.",
    )
    at: datetime | None = Field(
        None,
        description="Pin the clock business hours are read on (ISO 8601; without an offset, "
        "in the hours' time zone). Needs hours (the graph's or the scenario's).",
    )
    hours: HoursSettings | None = Field(
        None,
        description="Opening hours for this call instead of the graph's (the file is not "
        "changed), to test after-hours behaviour.",
    )
    dial: Literal["completed", "busy", "no-answer", "failed"] = Field(
        "completed", description="How the person a transfer dials answers."
    )
    from_: str = Field(
        "+15550001111",
        alias="from",
        description="The caller's number (outbound: not used; the agent calls from the "
        "graph's first number).",
    )
    to: str | None = Field(
        None,
        description="The number called (default: the graph's first; outbound: the callee's, "
        "default +15550004444).",
    )
    outbound: Outbound | None = Field(
        None,
        description="The agent calls out (a graph with vars:): the call's variables and who "
        "answers. Without it, the scenario is an inbound call.",
    )
    max_duration_s: float = Field(90, gt=0, le=600, description="The call is ended after this.")
    steps: list[Step] = Field(
        default_factory=list,
        description="What the caller (outbound: the person called) does, in order; at least "
        "one, except on an outbound call (an answering machine has none).",
    )

    @model_validator(mode="after")
    def _steps(self) -> Scenario:
        if self.outbound is None and not self.steps:
            raise ValueError("a scenario needs steps (what the caller does)")
        if self.outbound is not None and self.outbound.answers == "voicemail" and self.steps:
            raise ValueError(
                "an answering machine has no steps (it plays its greeting, beeps and "
                "records); put what must follow in outbound.expect"
            )
        if self.outbound is not None and "from_" in self.model_fields_set:
            raise ValueError("an outbound call comes from the graph's number: leave out from:")
        return self


class TestsFile(BaseModel):
    """Conversation tests for one graph (`graphs/NAME.tests.yaml`)."""

    model_config = ConfigDict(extra="forbid")

    graph: str | None = Field(
        None, description="The graph under test (default: the file name before .tests.yaml)."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Settings for every scenario's server."
    )
    scenarios: list[Scenario] = Field(min_length=1, description="The scripted calls.")


def tests_schema() -> dict:
    schema = TestsFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Switchboard conversation tests (graphs/NAME.tests.yaml)"
    return schema


def tests_schema_json() -> str:
    return json.dumps(tests_schema(), indent=2) + "\n"

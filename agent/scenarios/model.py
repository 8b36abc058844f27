"""The conversation-tests file (`graphs/NAME.tests.yaml`) as pydantic models.

A file holds scenarios for one graph; a scenario is a list of caller steps, each with what
the caller does (exactly one of `say`, `press`, `silent`, `barge_in`, `hang_up`) and what
must follow it (`expect`). The JSON Schema (`graphs/tests.schema.json`) is generated from
these models (`python -m agent graph test --schema`), so editors autocomplete; the checks
the models cannot make (names known to the graph, a pinned time without hours) are in
agent/scenarios/read.py.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.graph.loader import TESTS_SUFFIX
from agent.graph.model import HoursSettings

ACTIONS = ("say", "press", "silent", "barge_in", "hang_up")
DIAL_OUTCOMES = ("completed", "busy", "no-answer", "failed")
SUFFIX = TESTS_SUFFIX


class ToolReply(BaseModel):
    """The LLM calls a tool instead of speaking (e.g. transfer_call, take_message)."""

    model_config = ConfigDict(extra="forbid")

    tool: str = Field(description="The function the LLM calls: transfer_call or take_message.")
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
    no_answer: bool | None = Field(
        None, description="true: the agent says nothing (a half turn it should wait out)."
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
    says_variable: dict[str, str] | None = Field(
        None,
        description="Outbound calls (designed for, not built yet): a variable of the call "
        "spoken by the agent.",
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
    from_: str = Field("+15550001111", alias="from", description="The caller's number.")
    to: str | None = Field(None, description="The number called (default: the graph's first).")
    max_duration_s: float = Field(90, gt=0, le=600, description="The call is ended after this.")
    steps: list[Step] = Field(min_length=1, description="What the caller does, in order.")


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

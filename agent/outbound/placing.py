"""The outbound seam: what placing one call takes and gives, typed.

    DialRequest     who to call (E.164), with which graph, its variables, the caller ID
                    (default FROM_NUMBER), an opaque `tag` kept on the call's record (a
                    campaign's contact id)
    PlacedCall      Twilio accepted it: its CallSid
    DialRefused     why a call was not placed (`reason`, below); never a secret or a whole
                    number in the message (numbers are masked like the logs mask them)
    CallPlacer      `place(request) -> PlacedCall`, raises DialRefused
    CallOutcome     Twilio's final status, who answered (human/machine/unknown), duration
    CallOutcomes    `outcome(call_sid)`: None until the final status is recorded (by the server
                    that received Twilio's status callback, in the database: any process reads it)
    DoNotCall       the do-not-call list: contains, add, remove, list

Implementations: agent/outbound/twilio_placer.py (TwilioCallPlacer), agent/records/
outbound_store.py (OutboundRecords: CallOutcomes), agent/records/dnc.py (DncList: DoNotCall).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from agent.errors import SwitchboardError
from agent.logging_setup import phone_hint

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")

REFUSAL_REASONS = (
    "do_not_call",
    "missing_variable",
    "unknown_variable",
    "unknown_graph",
    "invalid_number",
    "no_from_number",
    "twilio_error",
)
FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


@dataclass(frozen=True)
class DialRequest:
    """One call to place. `vars` are the graph's call variables (personal data: never in a
    URL or a log line); `tag` is opaque, stored on the call's record."""

    to: str
    graph: str
    vars: Mapping[str, str] = field(default_factory=dict)
    from_number: str | None = None
    tag: str | None = None

    def __repr__(self) -> str:  # no number, no variable values
        return (
            f"DialRequest(to={phone_hint(self.to)}, graph={self.graph!r}, vars={sorted(self.vars)})"
        )


@dataclass(frozen=True)
class PlacedCall:
    """Twilio created the call (status queued)."""

    call_sid: str
    to: str
    graph: str


class DialRefused(SwitchboardError):
    """The call was not placed; `reason` is one of REFUSAL_REASONS, the message says what
    failed (a variable's name, a number masked as "...67", Twilio's error code)."""

    def __init__(self, reason: str, message: str, *, twilio_code: int | None = None):
        if reason not in REFUSAL_REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        self.reason = reason
        self.twilio_code = twilio_code
        super().__init__(message)


class CallPlacer(Protocol):
    async def place(self, request: DialRequest) -> PlacedCall:
        """Place the call or raise DialRefused."""
        ...


@dataclass(frozen=True)
class CallOutcome:
    """How a placed call ended, once Twilio's final status is recorded.

    status: completed | busy | no-answer | failed | canceled
    answered_by: human | machine | unknown | None (not answered, or not known)
    """

    status: str
    answered_by: str | None
    duration_s: float | None


class CallOutcomes(Protocol):
    async def outcome(self, call_sid: str) -> CallOutcome | None:
        """The call's outcome; None until Twilio's final status is recorded."""
        ...

    async def status(self, call_sid: str, status: str, *, duration_s: float | None = None) -> None:
        """Record Twilio's status for the call, as its status callback would have."""
        ...

    async def amd(self, call_sid: str, answered_by: str) -> None:
        """Record AMD's verdict, as its callback would have (a decided call keeps its own)."""
        ...


@dataclass(frozen=True)
class DncEntry:
    """One number on the do-not-call list."""

    number: str  # E.164
    source: str  # how it got there: "cli", "route:stop", "tool:do_not_call", "api"
    added_at: datetime


class DoNotCall(Protocol):
    async def contains(self, number: str) -> bool:
        """Whether `number` (any common spelling; normalised to E.164) is on the list."""
        ...

    async def add(self, number: str, source: str) -> None:
        """Put `number` on the list (again: no change). Raises DialRefused(invalid_number)."""
        ...

    async def remove(self, number: str) -> bool:
        """Take `number` off the list; False if it was not on it."""
        ...

    async def list(self) -> list[DncEntry]:
        """Every listed number, oldest first."""
        ...


def normalize_number(raw: str) -> str:
    """`raw` as E.164 ("+1 (555) 123-4567" -> "+15551234567", "0044..." -> "+44...");
    raises DialRefused("invalid_number") naming it masked. No country is guessed: a number
    without its country code is refused."""
    text = (raw or "").strip()
    compact = re.sub(r"[\s().\-/]", "", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not E164.match(compact):
        raise DialRefused(
            "invalid_number",
            f"{phone_hint(text)} is not a phone number in E.164 form (+15551234567, with its "
            "country code)",
        )
    return compact


def answered_by_kind(answered_by: str | None) -> str | None:
    """Twilio's AnsweredBy (human, machine_start, machine_end_beep, fax, unknown ...) as
    human | machine | unknown."""
    if not answered_by:
        return None
    if answered_by == "human":
        return "human"
    if answered_by.startswith("machine") or answered_by == "fax":
        return "machine"
    return "unknown"

"""What the Twilio REST client's requests answer (agent/twilio/rest.py): one frozen result
per kind of request, each saying what happened or why not, never raising and never holding a
secret or a whole phone number; and `masked_numbers`, which keeps Twilio's error texts (they
can quote the number) fit for logs and API answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.logging_setup import phone_hint

_NUMBER = re.compile(r"\+?\d[\d\s().-]{6,}\d")


def masked_numbers(text: str) -> str:
    """`text` with every phone number in it shown as logs show numbers ("...67")."""
    return _NUMBER.sub(lambda m: phone_hint(m.group(0)), text)


@dataclass(frozen=True)
class HangUpResult:
    """How a hang-up (or update) went: ok, already_ended, refused_NNN or failed, after
    `attempts` tries."""

    @property
    def ok(self) -> bool:
        return self.result == "ok"

    result: str
    attempts: int


@dataclass(frozen=True)
class MessageResult:
    """How one SMS attempt went: `sent` with Twilio's message `sid`, or why not."""

    sent: bool
    sid: str | None = None
    http_status: int | None = None
    code: int | None = None  # Twilio's error code
    error: str = ""  # short, no secrets: "HTTP 400 code 21211: Invalid 'To' Phone Number"
    retryable: bool = False


@dataclass(frozen=True)
class CreateCallResult:
    """How a call creation went: `created` with the new call's `sid`, or why not."""

    created: bool
    sid: str | None = None
    status: str | None = None  # Twilio's call status ("queued")
    http_status: int | None = None
    code: int | None = None
    error: str = ""
    attempts: int = 1


@dataclass(frozen=True)
class CallListing:
    """Calls from Twilio's Calls list (each its JSON: sid, status, date_created, start_time),
    newest first; or why the list could not be read."""

    ok: bool
    calls: tuple[dict, ...] = ()  # when not ok: what was read before it failed
    error: str = ""
    pages: int = 0  # pages read


@dataclass(frozen=True)
class CallState:
    """One call as Twilio's API reports it now (GET Calls/{sid}.json), or why it could not.

    status: queued | ringing | in-progress | completed | busy | no-answer | failed | canceled
    """

    ok: bool
    status: str = ""
    duration_s: float | None = None  # once the call has ended
    answered_by: str | None = None  # AMD's verdict, when the call asked for AMD
    error: str = ""  # short, no secrets: "HTTP 404 code 20404"

"""Redaction of what callers said before it is stored (`RECORDS_REDACT=true`).

Callers read out phone numbers, email addresses and card numbers; with redaction on, those
never reach the database (nor, therefore, the API, the dashboard or the call webhook, which
all read the stored record). The record writer (agent/records/writer.py) passes every event
through `redact_event` in its own task, off the call's path.

What is masked, wherever callers' words are stored: turn texts (what was said and heard),
extraction snapshots (every string in them, the extracted phone and email included), and a
transfer's reason. What is kept: the call's own `from`/`to` (the caller's number stays in its
field), and messages for the owner, which exist to carry a name and a callback number the
owner asked for (graphs choose that with `messages:`). A recording cannot be redacted: a
graph that records calls keeps the audio as it was.

Patterns (each replaced by a tag the reader understands):

    [email]   name@domain.tld
    [card]    13-19 digits, spaces or dashes between groups, passing the Luhn check
    [phone]   7-15 digits, an optional +, spaces, dots, dashes or brackets between groups;
              or seven or more spoken digits in a row ("five five five, one two ...")
    [number]  16-19 digits that fail the Luhn check (a misheard card, an account number)
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from agent.records.store import Event, ExtractionRecord, TransferStarted, TurnRecord

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits with the separators people and STT engines put between groups.
DIGIT_RUN = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{5,}\d(?!\w)")
SPOKEN = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple)"
SPOKEN_RUN = re.compile(rf"\b{SPOKEN}(?:[\s,.-]+{SPOKEN}){{6,}}\b", re.IGNORECASE)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digit_run(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    if 13 <= len(digits) <= 19 and _luhn(digits):
        return "[card]"
    if 7 <= len(digits) <= 15:
        return "[phone]"
    if len(digits) <= 19:
        return "[number]"  # too long for a phone: a card misheard, an account number
    return match.group()  # a year, a price, an order number too short or long to be either


def redact_text(text: str) -> str:
    """`text` with emails, card numbers and phone numbers masked."""
    if not text:
        return text
    text = EMAIL.sub("[email]", text)
    text = DIGIT_RUN.sub(_digit_run, text)
    return SPOKEN_RUN.sub("[phone]", text)


def redact_value(value: Any) -> Any:
    """Every string inside `value` (dicts, lists) redacted; other values as they are."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def redact_event(event: Event) -> Event:
    """The event as it may be stored with redaction on."""
    if isinstance(event, TurnRecord):
        return dataclasses.replace(
            event,
            text=redact_text(event.text),
            heard_text=redact_text(event.heard_text) if event.heard_text else event.heard_text,
        )
    if isinstance(event, ExtractionRecord):
        return dataclasses.replace(
            event,
            data=redact_value(event.data),
            error=redact_text(event.error) if event.error else event.error,
        )
    if isinstance(event, TransferStarted) and event.reason:
        return dataclasses.replace(event, reason=redact_text(event.reason))
    return event

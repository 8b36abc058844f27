"""Reading a calling list: a CSV whose first column is `number`, then the call's variables.

    number,name,time,timezone
    +15551234567,Ann,3 pm,America/New_York
    +44 20 7946 0958,Bob,4 pm,Europe/London

`number` is E.164 (spaces, dots, dashes and parentheses are dropped: "+1 (555) 123-4567");
every other column but `timezone` is a call variable, passed to the graph as given (an
empty cell is no variable: the dial refuses a required one by name); `timezone` (optional)
is the callee's IANA zone, the campaign's default otherwise. The file is the owner's: only
its columns are stored.

A bad row never loses the good ones: `read_contacts` returns every good row and one
`RowError` per bad one, naming its line and column ("line 4, column timezone: unknown time
zone 'Europe/Pari'"). A number listed twice is an error on its second line: nobody is
called twice.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.campaigns.window import zone

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_FORMATTING = re.compile(r"[\s().\-]")
NUMBER = "number"
TIMEZONE = "timezone"


@dataclass(frozen=True)
class Contact:
    line: int  # the CSV's line number (the header is line 1)
    number: str  # E.164
    vars: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None  # None: the campaign's default


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class CsvError(ValueError):
    """The file as a whole cannot be read (no header, no number column)."""


def normalize_number(raw: str) -> str | None:
    """`raw` as E.164, or None when it is not a phone number."""
    number = _FORMATTING.sub("", raw)
    return number if E164.match(number) else None


def read_contacts(text: str | Iterable[str]) -> tuple[list[Contact], list[RowError]]:
    """The good rows and the errors of the bad ones (module docstring)."""
    source = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.reader(source)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CsvError("the file is empty: its first line should name the columns") from None
    if not header or header[0].lower() != NUMBER:
        raise CsvError(f"the first column should be 'number', not {header[0]!r}" if header else "")
    lowered = [h.lower() for h in header]
    duplicates = sorted({h for h in lowered if h and lowered.count(h) > 1})
    if duplicates:
        raise CsvError(f"column(s) named twice: {', '.join(duplicates)}")
    if "" in header:
        raise CsvError(f"column {header.index('') + 1} has no name")
    for name in header[1:]:
        if name.lower() != TIMEZONE and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise CsvError(f"column {name!r}: a variable name is letters, digits and _")
    contacts: list[Contact] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # a blank line
        contact = _row(line, header, cells, errors)
        if contact is None:
            continue
        if contact.number in seen:
            errors.append(
                RowError(
                    line, NUMBER, f"{contact.number} is already on line {seen[contact.number]}"
                )
            )
            continue
        seen[contact.number] = line
        contacts.append(contact)
    return contacts, errors


def _row(line: int, header: list[str], cells: list[str], errors: list[RowError]) -> Contact | None:
    if len(cells) > len(header):
        errors.append(RowError(line, None, f"{len(cells)} cells, but {len(header)} columns"))
        return None
    cells = [c.strip() for c in cells] + [""] * (len(header) - len(cells))
    number = normalize_number(cells[0])
    if number is None:
        why = "no number" if not cells[0] else f"{cells[0]!r} is not a phone number in E.164"
        errors.append(RowError(line, NUMBER, why + " (+15551234567)"))
        return None
    timezone = None
    variables: dict[str, str] = {}
    for name, value in zip(header[1:], cells[1:], strict=True):
        if name.lower() == TIMEZONE:
            if value:
                try:
                    zone(value)
                except ValueError as exc:
                    errors.append(RowError(line, name, str(exc)))
                    return None
                timezone = value
        elif value:
            variables[name] = value
    return Contact(line, number, variables, timezone)

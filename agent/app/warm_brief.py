"""What the person is told before they accept a warm transfer: who is calling, and why.

`brief_text(...)` is a plain function of what the call knows when the transfer starts:
the caller's number (Twilio's From), the extraction's latest snapshot (agent/records/
extraction.py; the `lead` schema's `name`, `intent`, `notes`, or a custom schema's
`name`/`reason`), what the caller said (their turns in the LLM context, the transfer
request itself included) and the transfer's reason (a route, a key, or the LLM tool's
`reason`). Who: the extracted name, else the number read digit by digit. Why: the
extracted intent or reason, else the caller's own last words (quoted, at most
MAX_QUOTE_WORDS), else the transfer's reason. The text is personal data: it goes to the
TTS, never to the log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from processors.message_words import read_back

MAX_QUOTE_WORDS = 30
GENERIC_REASONS = ("pressed", "route ")  # transfer reasons that say nothing of the caller


def caller_words(messages: Sequence[dict]) -> list[str]:
    """The caller's turns in an LLM context's messages (text only, keypad notes left out)."""
    words = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        text = str(content or "").strip()
        if text and not text.startswith(("The caller pressed", "(The caller")):
            words.append(text)
    return words


def _quote(turns: Sequence[str]) -> str:
    """The caller's last words, up to MAX_QUOTE_WORDS, earlier turns first."""
    kept: list[str] = []
    count = 0
    for turn in reversed(turns):
        n = len(turn.split())
        if kept and count + n > MAX_QUOTE_WORDS:
            break
        kept.insert(0, " ".join(turn.split()[:MAX_QUOTE_WORDS]))
        count += n
    return " ".join(kept)


def brief_text(
    caller_number: str | None,
    extraction: Mapping[str, object] | None,
    turns: Sequence[str],
    reason: str = "",
) -> str:
    """The brief (see the module docstring); the question to accept is said after it."""
    extraction = extraction or {}
    name = str(extraction.get("name") or "").strip()
    if name:
        who = name
    elif caller_number:
        who = f"a caller from {read_back(caller_number)}"
    else:
        who = "a caller whose number is withheld"
    why = ""
    for key in ("intent", "reason", "notes"):
        value = str(extraction.get(key) or "").strip()
        if value:
            why = f"It's about: {value.rstrip('.')}."
            break
    if not why and turns:
        why = f'They said: "{_quote(turns)}"'
    if not why and reason and not reason.startswith(GENERIC_REASONS):
        why = f"It's about: {reason.rstrip('.')}."
    return " ".join(p for p in (f"Hi, I have {who} on hold for you.", why) if p)

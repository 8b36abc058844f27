"""`graph test --live`: the graph's real providers instead of the fakes, and loose wording.

With `--live` a scenario's call still runs through the Twilio emulator and an in-process
server (Twilio's REST API stays the fake: an emulated call does not exist at Twilio), but
the server talks to the providers the shell's environment and `.env` name: their keys and
base URLs (`live_provider_env`), so Deepgram hears Piper speaking the caller's lines, the
LLM writes its own answers (a step's scripted `reply` is not used) and Cartesia speaks them.

The LLM's own wording cannot be held to a scenario's exact words, so in this mode `says` and
`matches` are checked loosely on answers the LLM wrote (`loosely_says`, `loosely_matches`):
a word counts when it is in the answer without its ending (-s, -ed, -ing ...), and a list
of words passes on half of them.
Cached route answers are the owner's own recordings and keep the exact check. The report
says which mode ran (`LIVE_NOTE`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from agent.config import SETTINGS

# The settings a live run takes from the shell: every provider's key, base URL and model.
LIVE_GROUPS = ("providers", "local")
LIVE_NOTE = (
    "live: real providers (keys and URLs from the environment and .env); the wording of the "
    "LLM's answers matched loosely (words without their endings; a list passes on half of them)"
)
_WORD = re.compile(r"[a-z0-9']+")


def live_provider_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Every provider setting as the shell has it (a Config's merged environment and .env),
    else its default: so a base URL left unset is the provider's own, never the fakes'."""
    env = {}
    for setting in SETTINGS:
        if setting.group not in LIVE_GROUPS:
            continue
        value = environ.get(setting.name, "").strip() or setting.default
        if value:
            env[setting.name] = value
    return env


_ENDINGS = ("ing", "ed", "es", "s", "ly")


def _stem(word: str) -> str:
    """The word without one common ending (-ing, -ed, -es, -s, -ly): "booked" and "booking"
    are both "book", "appointments" is "appointment"; "bookcase" stays itself."""
    word = word.strip("'")
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower())}


def loosely_says(expected: str, said: str) -> bool:
    """Every word of `expected` (a word or phrase) has its stem in what was said."""
    wanted = [_stem(w) for w in _WORD.findall(expected.lower())]
    return bool(wanted) and all(w in _stems(said) for w in wanted)


def loosely_says_all(expected: list[str], said: str) -> bool:
    """A list of words or phrases: at least half of them, loosely."""
    found = sum(loosely_says(item, said) for item in expected)
    return found * 2 >= len(expected) and found > 0


def loosely_matches(pattern: str, said: str) -> bool:
    """The regex matches; else the words it spells out (its letters) are said, loosely."""
    if re.search(pattern, said, re.IGNORECASE):
        return True
    literal = " ".join(re.findall(r"[A-Za-z']{3,}", pattern))
    return bool(literal) and loosely_says_all(literal.split(), said)

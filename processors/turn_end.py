"""When has the caller finished? The words' part of the answer, and speculation's bookkeeping.

Used by the turn stop strategy `ListeningTurnStop` (agent/adapters/listening_turns.py), which decides
when a caller's turn ends and starts the LLM before it is sure. This module holds what needs
no pipecat internals, so it is tested on its own:

- `classify(text)`: what the words so far say about the turn.
  - "unfinished": the last word leaves the sentence open (a conjunction, a filler, an
    article, a possessive, a preposition, a subject pronoun: "and", "so", "um", "my bill
    from"), the text ends in a comma, dash or ellipsis, or it ends in a phone number still
    short of its digits ("my number is 555 01"). The turn waits longer for more.
  - "complete": ends in "?" (a question, whatever its last word: "Who am I talking to?"),
    or in "." or "!" and is not unfinished (Deepgram punctuates what it finalizes, a
    fragment too). The turn may end as soon as the final transcript is in.
  - "open": neither (no punctuation: the STT does not punctuate, or an interim). The
    graph's usual speech timeout.
- `TurnEndTiming`: the wait after the VAD's stop for each class.
- `same_words(a, b)`: whether a speculative answer still answers what the caller said:
  the same words once case, punctuation, apostrophes and spacing are set aside
  (pipecat's `NormalizedMatch`). Anything else ("book an" against "book an appointment",
  "2" against "two") is a different turn, and the speculation is discarded.
- `words_are_stale(words_at, vad_stop_at, stop_secs)`: whether the newest words were
  transcribed while the caller was still speaking (before the VAD's stop minus its
  `stop_secs`); an STT's interim from then lags the speech, so speculating on it answers
  the first part of a sentence and is wasted (bench/turns.py's standard fakes: 1.5 wasted
  requests per caller sentence). The speculation waits for newer words (an interim after
  the speech, or the final) instead.
- `SpeculationStats`: per process, how many speculative LLM requests started, how many a
  confirmed turn used, and how many were wasted and why; read by `/metrics`.

Measurements and the rules' history: docs/decisions/faster-turns.md.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from pipecat.turns.user_stop import NormalizedMatch

TurnClass = Literal["complete", "unfinished", "open"]

# A last word after which an English sentence is almost never over.
UNFINISHED_WORDS = frozenset(
    [
        "and",
        "or",
        "but",
        "so",
        "because",
        "um",
        "uh",
        "er",
        "erm",
        "uhm",
        "hmm",
        "the",
        "a",
        "an",
        "my",
        "your",
        "our",
        "their",
        "his",
        "from",
        "to",
        "about",
        "for",
        "with",
        "of",
        "in",
        "on",
        "at",
        "by",
        "into",
        "onto",
        "than",
        "like",
        "i",
        "we",
        "they",
        "he",
        "she",
        "if",
    ]
)
_TRAILING_OPEN = re.compile(r"(,|-|–|—|\.\.\.|…)\s*$")
_TERMINAL = re.compile(r"[.?!]\s*$")
_WORD = re.compile(r"[\w']+")
_DIGITS_AT_END = re.compile(r"((?:\d[\s-]*)+)\W*$")
_NUMBER_CUES = ("number", "phone", "reach me", "call me", "cell", "mobile")
PHONE_DIGITS = 10  # a North American number; fewer at the end of a "my number is" turn: open


def last_word(text: str) -> str:
    words = _WORD.findall(text.lower())
    return words[-1].strip("'") if words else ""


def unfinished_number(text: str) -> bool:
    """The turn ends in a phone number still short of its digits."""
    match = _DIGITS_AT_END.search(text)
    if not match:
        return False
    digits = sum(ch.isdigit() for ch in match.group(1))
    lowered = text.lower()
    return digits < PHONE_DIGITS and any(cue in lowered for cue in _NUMBER_CUES)


def classify(text: str) -> TurnClass:
    """What the words so far say about the turn (see the module docstring)."""
    stripped = text.strip()
    if not stripped:
        return "open"
    if _TRAILING_OPEN.search(stripped):
        return "unfinished"
    if stripped.endswith("?"):  # "Who am I talking to?": a question, whatever its last word
        return "complete"
    if last_word(stripped) in UNFINISHED_WORDS:
        return "unfinished"
    if unfinished_number(stripped):
        return "unfinished"
    if _TERMINAL.search(stripped):
        return "complete"
    return "open"


@dataclass(frozen=True)
class TurnEndTiming:
    """Seconds of silence after the VAD's stop before the turn ends, by class.

    The VAD's own stop_secs comes before all of them. A turn also needs its final
    transcript (or the STT's safety net) before it ends, whatever the class.
    """

    complete_s: float = 0.1
    open_s: float = 0.4
    unfinished_s: float = 1.2

    def wait_s(self, text: str) -> float:
        kind = classify(text)
        if kind == "complete":
            return self.complete_s
        if kind == "unfinished":
            return self.unfinished_s
        return self.open_s


_MATCH = NormalizedMatch()


def same_words(speculated: str, confirmed: str) -> bool:
    """Whether an answer to `speculated` still answers `confirmed` (see module docstring)."""
    return bool(speculated.strip()) and _MATCH.matches(speculated, confirmed)


WASTE_REASONS = ("resumed", "differs", "withdrawn", "unresolved")


@dataclass
class SpeculationStats:
    """Speculative LLM requests of one process: started, used, wasted by reason."""

    started: int = 0
    confirmed: int = 0
    wasted: Counter = field(default_factory=Counter)

    def start(self) -> None:
        self.started += 1

    def confirm(self) -> None:
        self.confirmed += 1

    def waste(self, reason: str) -> None:
        if reason not in WASTE_REASONS:
            raise ValueError(f"unknown reason {reason!r} (one of {', '.join(WASTE_REASONS)})")
        self.wasted[reason] += 1

    @property
    def wasted_total(self) -> int:
        return sum(self.wasted.values())


def words_are_stale(words_at: float | None, vad_stop_at: float, stop_secs: float) -> bool:
    """Whether words received at `words_at` came before the caller's speech ended.

    The speech ended `stop_secs` (the VAD's silence to stop) before its stop at
    `vad_stop_at`; a transcript received earlier was made from audio that still lacked the
    sentence's last words. No words at all count as stale (nothing to answer yet).
    """
    if words_at is None:
        return True
    return words_at < vad_stop_at - stop_secs


SPECULATION_STATS_KEY = ("turns", "speculation-stats")

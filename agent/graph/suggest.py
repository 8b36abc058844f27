"""Did-you-mean suggestions for misspelt names (nodes, node types, fields, graphs)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The closest candidate to `word`, or None when nothing is close enough.

    Compared case-insensitively, since `Stop_Secs` for `stop_secs` is the same slip.
    """
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(str(candidate).lower(), str(candidate))
    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[matches[0]] if matches else None


def hint(word: str, candidates: Iterable[str]) -> str:
    """`" (did you mean 'x'?)"`, or "" when there is no close candidate."""
    match = did_you_mean(word, candidates)
    return f" (did you mean '{match}'?)" if match else ""

"""The campaign's progress on stderr: a tqdm bar of contacts done, and the counts.

    campaign 3f2a9c: 12/20 [called 14 answered 9 voicemail 2 busy 1 no-answer 0 refused 1 waiting 6]

The counts are read from the database (store.counts), so they include every worker's
calls. Without a terminal (a log, CI) the bar is off and only `summary` lines are printed.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

from agent.campaigns import states as s

SHOWN = ("called", "answered", "voicemail", "busy", "no-answer", "refused", "waiting")


def shown_counts(counts: dict[str, int]) -> dict[str, int]:
    """The progress line's counts: `waiting` is the pending contacts (due now or later)."""
    return {name: counts.get(s.PENDING if name == "waiting" else name, 0) for name in SHOWN}


def summary(campaign_id: str, counts: dict[str, int]) -> str:
    done = sum(counts.get(state, 0) for state in s.FINAL)
    parts = " ".join(f"{k} {v}" for k, v in shown_counts(counts).items())
    extra = " ".join(
        f"{state} {counts[state]}"
        for state in (s.DIALING, s.CALLING, s.FAILED, s.CANCELED, s.UNKNOWN)
        if counts.get(state)
    )
    return f"campaign {campaign_id}: {done}/{counts.get('total', 0)} done [{parts}{' ' + extra if extra else ''}]"


class Progress:
    def __init__(self, campaign_id: str, total: int, stream: TextIO = sys.stderr):
        self.bar = tqdm(
            total=total,
            desc=f"campaign {campaign_id}",
            unit="contact",
            file=stream,
            disable=not stream.isatty(),
            dynamic_ncols=True,
        )

    def update(self, counts: dict[str, int]) -> None:
        done = sum(counts.get(state, 0) for state in s.FINAL)
        self.bar.n = done
        self.bar.set_postfix(shown_counts(counts), refresh=True)

    def close(self) -> None:
        self.bar.close()

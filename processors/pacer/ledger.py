"""MarkLedger: the marks sent and not yet echoed, and what the caller heard.

Twilio echoes a mark once the audio before it has played (or at once, unplayed, after a
`clear`). Each echo of a played mark moves its utterance's "heard up to" position in the
heard-text accounting (processors/heard_text.py): what the caller heard is counted from
the echoes, not from what was sent. The ledger also remembers the last chunk sent after
the last mark (`unmarked`): when the TTS falls behind mid-answer, no echo would tell when
that audio has played, so the sender marks it once the queue runs dry.
"""

from __future__ import annotations

from processors.heard_text import HeardText
from processors.pacer.stats import Chunk, Mark, PacerStats


class MarkLedger:
    """Outstanding marks by name, the last unmarked chunk, and the heard text."""

    def __init__(self, stats: PacerStats):
        self._stats = stats
        self.heard = HeardText()
        self.outstanding: dict[str, Mark] = {}
        self.unmarked: Chunk | None = None  # the last chunk sent after the last mark

    def sent(self, mark: Mark) -> None:
        self.outstanding[mark.name] = mark
        self.unmarked = None
        self._stats.marks_sent += 1

    def echo(self, name: str, played: bool) -> bool:
        """Twilio echoed mark `name`; False if it is not one of ours (or was forgotten)."""
        mark = self.outstanding.pop(name, None)
        if mark is None:
            return False
        if played:
            self._stats.marks_played += 1
            self.heard.played(mark.uid, mark.pos)
        else:
            self._stats.marks_cleared += 1
        return True

    def assume_played(self) -> int:
        """No echo came in time: count every outstanding mark as played; how many."""
        count = len(self.outstanding)
        for mark in self.outstanding.values():
            self.heard.played(mark.uid, mark.pos)
        self.outstanding.clear()
        self.unmarked = None  # assumed played with them
        return count

    def forget(self) -> None:
        """A `clear` (or the call's end): echoes that come now change nothing."""
        self.outstanding.clear()
        self.unmarked = None

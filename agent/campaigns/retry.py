"""Which outcomes a campaign tries again, and when.

    busy, no-answer     tried again after a delay that doubles with each attempt
                        (retry_after, 2x, 4x ... capped at MAX_DELAY), up to max_attempts
                        calls in all; then the contact ends busy / no-answer
    failed              not tried again: Twilio says "failed" when the number cannot be
                        reached (invalid, not in service, the carrier refused it), which a
                        second call does not change, and a failed REST request may still
                        have made a call (agent/twilio/rest.py: never two calls)
    completed, canceled final: answered (a person or a voicemail), or stopped by the owner

The retry is then moved into the callee's window (window.py): never outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.campaigns.window import CallWindow

RETRIED = frozenset({"busy", "no-answer"})
MAX_DELAY_S = 4 * 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    retry_after_s: float = 600.0  # the first retry's delay

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max attempts must be at least 1")
        if self.retry_after_s < 0:
            raise ValueError("the retry delay cannot be negative")

    def delay_s(self, attempts: int) -> float:
        """The wait after the `attempts`-th call (1: the first): retry_after_s, then doubled."""
        return min(self.retry_after_s * 2 ** max(attempts - 1, 0), MAX_DELAY_S)

    def retries(self, status: str, attempts: int) -> bool:
        """Whether a call that ended `status` after `attempts` calls is tried again."""
        return status in RETRIED and attempts < self.max_attempts

    def next_attempt(
        self, ended_at: datetime, attempts: int, window: CallWindow, zone_name: str
    ) -> datetime:
        """When to call again: after the backoff, at the window's next opening."""
        due = ended_at + timedelta(seconds=self.delay_s(attempts))
        return window.next_opening(due, zone_name)

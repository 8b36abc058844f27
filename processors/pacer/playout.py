"""PlayoutClock: when each 20 ms chunk plays at Twilio, and when it may be handed over.

Twilio plays whatever it has buffered; audio sent faster than real time piles up there and
can only be stopped with `clear`, and audio sent late is a gap the caller hears. The clock
keeps Twilio's buffer at `lead` seconds: chunk k of a run of speech plays at start + k x
20 ms and may leave at that time minus the lead. The clock is absolute: after a stall
shorter than the lead the sender catches up instead of resetting, and the stall never
becomes a gap. Only when Twilio's buffer has run dry does it restart from now.

The media link writes each chunk at its time on its own send clock, so the sender hands
chunks over once they are due within HANDOFF_AHEAD_S, sleeping until the next one is
HANDOFF_AHEAD_S - HANDOFF_BATCH_S from due: the link always holds 0.1-0.2 s and the
sender wakes about ten times a second per speaking call instead of fifty.
"""

from __future__ import annotations

from processors.pacer.stats import CHUNK_S, PacerStats

HANDOFF_AHEAD_S = 0.2
HANDOFF_BATCH_S = 0.1


class PlayoutClock:
    """The play-out position of the next chunk, on the pacer's clock."""

    def __init__(self, lead_s: float, stats: PacerStats):
        self.lead_s = lead_s
        self._stats = stats
        self.position = 0.0  # when the next chunk plays (0: nothing has played yet)

    def send_at(self, now: float, mid_speech: bool) -> float:
        """When the next chunk may leave; restarts the clock from `now` if Twilio's buffer
        ran dry (counted when that happened `mid_speech`, marks still unechoed)."""
        if self.position < now:
            if mid_speech and self.position:
                self._stats.dry_restarts += 1
            self.position = now
        return self.position - self.lead_s

    @staticmethod
    def hand_over_in(send_at: float, now: float) -> float:
        """How long to sleep before handing the chunk due at `send_at` to the link (0: now);
        a sleep covers a batch (module doc)."""
        wait = send_at - now - HANDOFF_AHEAD_S
        return wait + HANDOFF_BATCH_S if wait > 0 else 0.0

    def advance(self) -> None:
        """A chunk was handed over: the next plays 20 ms later."""
        self.position += CHUNK_S

    def remaining(self, now: float) -> float:
        """Seconds until what was handed over has played."""
        return max(0.0, self.position - now)

    def reset(self) -> None:
        """A `clear`: Twilio's buffer is empty."""
        self.position = 0.0

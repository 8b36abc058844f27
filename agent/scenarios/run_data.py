"""RunData: what one scenario run produced — the emulator's results, the call's record, the
step markers — read by the expectations (agent/scenarios/check.py, check_outbound.py,
turns.py) and filled in by the run (agent/scenarios/run.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.sim.result import CallResult


@dataclass
class RunData:
    """What one run produced, for the expectations (agent/scenarios/check.py)."""

    result: CallResult | None = None
    streams: list[CallResult] = field(default_factory=list)
    record: dict | None = None
    hung_up_by_rest: bool = False
    error: str | None = None  # the call could not be run at all
    voicemail: str | None = None  # outbound: the graph's voicemail with the call's variables
    markers: dict[int, float] = field(default_factory=dict)  # step -> when it began (s)
    wall0: float = 0.0  # wall-clock time at the call's t = 0
    duration_s: float = 0.0

    def timeline(self) -> list[tuple]:
        return sorted((e for r in self.streams for e in r.timeline), key=lambda e: e[1])

"""The call record's turns as the expectations see them: when each began (seconds since the
call's t = 0, from the record's wall-clock stamps), who spoke, what, and its source.

Shared by the step checks (agent/scenarios/check.py) and the outbound ones
(agent/scenarios/check_outbound.py), so a failure describes what the agent said the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from agent.scenarios.run_data import RunData


@dataclass(frozen=True)
class Turn:
    t: float  # seconds since the call was placed
    role: str
    text: str
    source: str
    route: str | None
    interrupted: bool


def record_turns(data: RunData) -> list[Turn]:
    turns = []
    for row in (data.record or {}).get("turns", []):
        stamp = row.get("started_at") or row.get("ended_at")
        t = seconds(stamp, data.wall0) if stamp else math.inf
        turns.append(
            Turn(
                t,
                row["role"],
                row.get("text") or "",
                row.get("source") or "",
                row.get("route"),
                bool(row.get("interrupted")),
            )
        )
    return sorted(turns, key=lambda turn: turn.t)


def seconds(stamp: str, wall0: float) -> float:
    return datetime.fromisoformat(stamp).timestamp() - wall0


def answers(window: list[Turn]) -> list[Turn]:
    """The agent's turns of a window."""
    return [t for t in window if t.role == "agent"]


def got(turns: list[Turn]) -> str:
    """What the agent said, for a failure's message."""
    if not turns:
        return "the agent said nothing"
    return "; ".join(f"{source(t)} {t.text!r}" for t in turns)


def source(turn: Turn) -> str:
    return f"route {turn.route}" if turn.source == "route" else turn.source

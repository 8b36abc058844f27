"""The warm transfers in progress: where the caller's call and the person's leg meet.

A warm transfer (agent/app/warm_transfer.py says how one goes) involves three parties that
never share a task: the caller's call session (holding), Twilio's status callbacks for the
person's leg (agent/app/warm_status.py) and the person's own media stream
(agent/app/warm_leg.py). Each finds the transfer here by its id, an unguessable token
that is the only thing in the URLs and stream parameters Twilio carries, and moves it
through its states:

    dialing ─► ringing ─► briefing ─► accepted
       │          │           ├─────► declined | timeout
       │          │           └─────► declined (the person hung up while being asked)
       └──────────┴─► no-answer | busy | failed | canceled
    any state before a decision ─► caller_hung_up | failed

A final state is entered once; the first one wins (a late status callback changes
nothing). Listeners (`on_change`) hear every change in order; the caller's session
listens for the decision, the person's stream for the caller leaving. Pure state: no
I/O, no clock, so the transitions are tested directly (tests/app/test_warm_registry.py);
the accept timeout runs on the person's stream, on an injected clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from loguru import logger

FINAL = frozenset(
    {"accepted", "declined", "timeout", "no-answer", "busy", "failed", "canceled", "caller_hung_up"}
)
# state -> the states it may move to (final states move nowhere)
NEXT: dict[str, frozenset[str]] = {
    "dialing": frozenset({"ringing", "briefing", "no-answer", "busy", "failed", "canceled"}),
    "ringing": frozenset({"briefing", "no-answer", "busy", "failed", "canceled"}),
    "briefing": frozenset({"accepted", "declined", "timeout", "failed"}),
}
ALWAYS = frozenset({"caller_hung_up", "failed"})  # from any state not final yet


@dataclass
class WarmTransfer:
    """One warm transfer: who, where to, what the person is told, and its state."""

    id: str
    call_sid: str  # the caller's call
    account_sid: str | None
    graph: str
    destination: str  # its name in the graph's `transfer:`
    to: str
    from_: str  # the caller ID the person sees
    conference: str  # the conference both legs join when accepted
    brief: str  # what the person is told (personal data: never logged)
    accept_timeout_s: int
    state: str = "dialing"
    leg_sid: str | None = None  # the person's call, once Twilio created it
    leg_duration_s: float | None = None  # the person's call's length (Twilio's CallDuration)
    history: list[str] = field(default_factory=lambda: ["dialing"])
    _listeners: list[Callable[[WarmTransfer, str], None]] = field(default_factory=list)

    @property
    def decided(self) -> bool:
        return self.state in FINAL

    def on_change(self, listener: Callable[[WarmTransfer, str], None]) -> None:
        """`listener(transfer, new_state)` after each change (it must not raise)."""
        self._listeners.append(listener)

    def advance(self, state: str) -> bool:
        """Move to `state` if the machine allows it from here; whether it moved."""
        if state == self.state or self.decided:
            return False
        if state not in NEXT.get(self.state, frozenset()) and state not in ALWAYS:
            logger.info(f"warm transfer {self.id[:6]}: {self.state} -> {state} ignored")
            return False
        self.state = state
        self.history.append(state)
        for listener in list(self._listeners):
            try:
                listener(self, state)
            except Exception:  # one listener's bug must not stop the others
                logger.exception("warm transfer listener failed")
        return True


class WarmTransfers:
    """The process's warm transfers in progress, by id (Services.warm)."""

    def __init__(self) -> None:
        self._by_id: dict[str, WarmTransfer] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def open(self, **fields) -> WarmTransfer:
        """A new transfer (state "dialing") with a fresh id and conference name."""
        transfer = WarmTransfer(
            id=secrets.token_urlsafe(18),
            conference="sb-" + secrets.token_urlsafe(18),
            **fields,
        )
        self._by_id[transfer.id] = transfer
        return transfer

    def get(self, transfer_id: str | None) -> WarmTransfer | None:
        return self._by_id.get(transfer_id or "")

    def close(self, transfer_id: str) -> None:
        """Forget a transfer both sides are done with."""
        self._by_id.pop(transfer_id, None)

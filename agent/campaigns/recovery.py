"""Contacts a stopped worker left behind: adopted, or resolved without calling twice.

A worker that stops cleanly leaves no `dialing` contact (it lets its REST requests finish)
and releases its `calling` ones (claimed by nobody). A worker killed mid-way may leave:

    calling, sid known   adopted: the new worker waits for the call's final status
    dialing, no sid      the REST request may or may not have made a call. Twilio is
                         asked: its Calls list filtered by To and StartTime>=the claim's
                         day (`CallLookup`), page after page until a call to the number
                         created since the claim (30 s of clock slack) is found: that
                         call; the contact is `calling` with its sid. No such call on any
                         page: none was made, and the contact is pending again (the attempt
                         not counted). When Twilio cannot be asked (no credentials, an
                         error, a page that fails, more pages than the lookup reads) the
                         contact becomes `unknown`, for the owner to decide: never
                         redialled on a guess, nor on part of the list.

A worker is gone when its claim is released (claimed_by NULL), when it runs on this host
and its process no longer exists, or when it has not renewed its claim (heartbeat) for
STALE_S seconds. A call still queued at Twilio has no start time and is not in the filtered
list: recovery waits STALE_S after the claim before asking, by which time it has been
dialed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from loguru import logger
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.campaigns import claims
from agent.campaigns import states as s

STALE_S = 90.0
CLOCK_SLACK_S = 30.0


@dataclass(frozen=True)
class FoundCall:
    sid: str
    status: str
    created_at: datetime | None


@dataclass(frozen=True)
class CallNow:
    """One call as Twilio reports it now."""

    status: str  # queued | ringing | in-progress | completed | busy | no-answer | ...
    duration_s: float | None  # once it ended
    answered_by: str | None  # AMD's verdict, when the call asked for AMD


class LookupFailed(Exception):
    """Twilio could not be asked (no credentials, an HTTP or network error)."""


class CallLookup(Protocol):
    async def calls_to(self, number: str, since: datetime) -> list[FoundCall]:
        """Twilio's calls to `number` started on or after `since`'s day: all of them, or at
        least every one read until one created since `since` was; raises LookupFailed when
        that cannot be said (no credentials, an error, a page not read)."""
        ...

    async def call_now(self, call_sid: str) -> CallNow:
        """The call's state now (its status callbacks may have been lost); raises
        LookupFailed when Twilio cannot be asked or does not know the call."""
        ...


def worker_id() -> str:
    """This process's name on its claims: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_gone(
    claimed_by: str | None,
    claimed_at: datetime | None,
    now: datetime,
    *,
    host: str,
    alive: Callable[[int], bool] = process_alive,
    stale_s: float = STALE_S,
) -> bool:
    if not claimed_by:
        return True
    if claimed_at is None or (now - claimed_at).total_seconds() > stale_s:
        return True
    their_host, _, rest = claimed_by.partition(":")
    pid = rest.partition(":")[0]
    return their_host == host and pid.isdigit() and not alive(int(pid))


@dataclass
class Recovered:
    adopted: list[claims.Claimed] = field(default_factory=list)  # calling: watch them
    found: int = 0  # dialing, and Twilio had the call
    requeued: int = 0  # dialing, and Twilio had no call: pending again
    unknown: int = 0  # dialing, and Twilio could not be asked


async def recover(
    engine: AsyncEngine,
    campaign_id: str,
    worker: str,
    now: datetime,
    lookup: CallLookup | None,
    *,
    alive: Callable[[int], bool] = process_alive,
    stale_s: float = STALE_S,
) -> Recovered:
    """Take over the campaign's contacts whose worker is gone (module docstring)."""
    result = Recovered()
    host = socket.gethostname()
    for row in await claims.in_flight(engine, campaign_id):
        owner = row["claimed_by"]
        if owner == worker or not worker_gone(
            owner, row["claimed_at"], now, host=host, alive=alive, stale_s=stale_s
        ):
            continue
        if not await claims.take_over(engine, row["id"], owner, worker, now):
            continue
        contact = claims.Claimed(
            row["id"], row["number"], dict(row["vars"] or {}), row["timezone"], row["attempts"]
        )
        if row["state"] == s.CALLING and row["call_sid"]:
            result.adopted.append(contact)
            continue
        await _resolve_dialing(engine, contact, row["claimed_at"] or now, worker, lookup, result)
    return result


async def _resolve_dialing(
    engine: AsyncEngine,
    contact: claims.Claimed,
    claimed_at: datetime,
    worker: str,
    lookup: CallLookup | None,
    result: Recovered,
) -> None:
    if lookup is None:
        why = "its worker stopped before saving the call's sid, and Twilio cannot be asked"
        await claims.unknown(engine, contact.id, worker, why)
        result.unknown += 1
        return
    try:
        since = claimed_at - timedelta(seconds=CLOCK_SLACK_S)
        found = await lookup.calls_to(contact.number, since)
    except LookupFailed as exc:
        await claims.unknown(engine, contact.id, worker, f"Twilio could not be asked: {exc}")
        result.unknown += 1
        return
    calls = [c for c in found if c.created_at is None or c.created_at >= since]
    if calls:
        latest = max(calls, key=lambda c: c.created_at or claimed_at)
        await claims.recovered(engine, contact.id, worker, call_sid=latest.sid, detail="")
        result.adopted.append(contact)
        result.found += 1
        logger.info(f"campaign contact {contact.id}: its call was made ({latest.sid})")
    else:
        why = "no call was made before its worker stopped (Twilio has none)"
        await claims.recovered(engine, contact.id, worker, call_sid=None, detail=why)
        result.requeued += 1

"""MAX_CALLS together with inbound calls: how many more calls a campaign may start now.

The server refuses a call beyond MAX_CALLS at its webhook (agent/app/webhooks.py), per
process. A campaign worker is another process (often on another machine), so it counts the
calls in progress where every process writes them, the call-record database:

    in progress = the calls whose record has started and not ended (started in the last
                  STALE_HOURS: a record a crashed server never ended does not block the
                  campaign for ever)
                + the campaign contacts dialing or calling (any campaign, any worker) that
                  are not among those yet (a call ringing has no record until answered)

and starts a call only while that is below MAX_CALLS x WEB_CONCURRENCY (0: no limit). Two
workers may both see the last free place at once and both dial: the limit is soft by one
per worker; the webhook stays the hard limit (the caller then hears the busy message).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.campaigns import states as s
from agent.graph.hours import WallClock
from agent.records import models as m

STALE_HOURS = 4


class CallCapacity(Protocol):
    async def free(self) -> int | None:
        """How many more calls may start now (None: no limit)."""
        ...


class RecordsCapacity:
    """The calls in progress as the call-record database knows them (module docstring)."""

    def __init__(self, engine: AsyncEngine, limit: int, clock: WallClock):
        self.engine = engine
        self.limit = limit
        self.clock = clock

    async def in_progress(self) -> int:
        since = self.clock.now() - timedelta(hours=STALE_HOURS)
        calls = m.calls.c
        contacts = m.campaign_contacts.c
        async with self.engine.connect() as conn:
            live = set(
                (
                    await conn.execute(
                        select(calls.call_sid).where(
                            calls.ended_at.is_(None), calls.started_at >= since
                        )
                    )
                ).scalars()
            )
            dialing = (
                await conn.execute(
                    select(contacts.call_sid, func.count())
                    .where(contacts.state.in_(s.IN_FLIGHT))
                    .group_by(contacts.call_sid)
                )
            ).all()
        ours = sum(int(n) for sid, n in dialing if sid is None or sid not in live)
        return len(live) + ours

    async def free(self) -> int | None:
        if self.limit <= 0:
            return None
        return max(self.limit - await self.in_progress(), 0)


class NoLimit:
    async def free(self) -> int | None:
        return None

"""The campaign tables (agent/records/models.py): creating a campaign, reading it back.

    create_campaign(engine, CampaignSettings, contacts) -> id   one transaction
    get_campaign(engine, id) -> Campaign | None
    list_campaigns(engine) -> [(Campaign, counts)]
    counts(engine, id) -> {state: n, "called": calls made, "busy"/"no-answer": last outcome}
    contact_rows(engine, id) -> [dict]   every contact, for the results CSV and status
    set_state(engine, id, "active" | "done")

Claiming and recording a contact's calls is claims.py. Times are stored in UTC (SQLite
hands them back naive: `utc`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.campaigns import states as s
from agent.campaigns.contacts_csv import Contact
from agent.campaigns.retry import RetryPolicy
from agent.campaigns.window import CallWindow
from agent.records import models as m
from agent.records.store import utc


@dataclass(frozen=True)
class CampaignSettings:
    graph: str
    window: CallWindow
    timezone: str  # for contacts without one
    concurrency: int
    policy: RetryPolicy
    from_number: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Campaign:
    id: str
    settings: CampaignSettings
    created_at: datetime
    state: str


async def create_campaign(
    engine: AsyncEngine, settings: CampaignSettings, contacts: Sequence[Contact], now: datetime
) -> str:
    """Store the campaign and its contacts (pending, due at their window's next opening,
    which is `now` when it is open); its id."""
    campaign_id = uuid.uuid4().hex[:12]
    async with engine.begin() as conn:
        await conn.execute(
            m.campaigns.insert().values(
                id=campaign_id,
                graph=settings.graph,
                source=settings.source,
                created_at=now,
                call_window=str(settings.window),
                timezone=settings.timezone,
                concurrency=settings.concurrency,
                max_attempts=settings.policy.max_attempts,
                retry_after_s=settings.policy.retry_after_s,
                from_number=settings.from_number,
                state="active",
            )
        )
        if contacts:
            await conn.execute(
                m.campaign_contacts.insert(),
                [
                    {
                        "campaign_id": campaign_id,
                        "csv_line": c.line,
                        "number": c.number,
                        "vars": dict(c.vars),
                        "timezone": c.timezone or settings.timezone,
                        "state": s.PENDING,
                        "attempts": 0,
                        "next_attempt_at": settings.window.next_opening(
                            now, c.timezone or settings.timezone
                        ),
                    }
                    for c in contacts
                ],
            )
    return campaign_id


def _campaign(row) -> Campaign:
    settings = CampaignSettings(
        graph=row["graph"],
        window=CallWindow.parse(row["call_window"]),
        timezone=row["timezone"],
        concurrency=row["concurrency"],
        policy=RetryPolicy(row["max_attempts"], row["retry_after_s"]),
        from_number=row["from_number"],
        source=row["source"],
    )
    return Campaign(row["id"], settings, utc(row["created_at"]), row["state"])


async def get_campaign(engine: AsyncEngine, campaign_id: str) -> Campaign | None:
    async with engine.connect() as conn:
        row = (
            (await conn.execute(select(m.campaigns).where(m.campaigns.c.id == campaign_id)))
            .mappings()
            .first()
        )
    return _campaign(row) if row else None


async def list_campaigns(engine: AsyncEngine) -> list[tuple[Campaign, dict[str, int]]]:
    async with engine.connect() as conn:
        rows = (
            (await conn.execute(select(m.campaigns).order_by(m.campaigns.c.created_at.desc())))
            .mappings()
            .all()
        )
    return [(_campaign(row), await counts(engine, row["id"])) for row in rows]


async def set_state(engine: AsyncEngine, campaign_id: str, state: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(m.campaigns).where(m.campaigns.c.id == campaign_id).values(state=state)
        )


async def counts(engine: AsyncEngine, campaign_id: str) -> dict[str, int]:
    """Contacts per state, calls made ("called"), and the last outcomes busy / no-answer
    (a contact waiting for its retry counts there too)."""
    c = m.campaign_contacts.c
    async with engine.connect() as conn:
        by_state = (
            await conn.execute(
                select(c.state, func.count(), func.sum(c.attempts))
                .where(c.campaign_id == campaign_id)
                .group_by(c.state)
            )
        ).all()
        by_outcome = (
            await conn.execute(
                select(c.outcome, func.count())
                .where(c.campaign_id == campaign_id, c.outcome.in_([s.BUSY, s.NO_ANSWER]))
                .group_by(c.outcome)
            )
        ).all()
    result = dict.fromkeys(s.ALL, 0) | {"called": 0, "total": 0}
    for state, n, attempts in by_state:
        result[state] = int(n)
        result["total"] += int(n)
        result["called"] += int(attempts or 0)
    result["busy"] = result["no-answer"] = 0
    for outcome, n in by_outcome:
        result[outcome] = int(n)
    return result


async def contact_rows(engine: AsyncEngine, campaign_id: str) -> list[dict]:
    """Every contact of the campaign in the CSV's order, times in UTC."""
    c = m.campaign_contacts.c
    async with engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    select(m.campaign_contacts)
                    .where(c.campaign_id == campaign_id)
                    .order_by(c.csv_line, c.id)
                )
            )
            .mappings()
            .all()
        )
    result = []
    for row in rows:
        item = dict(row)
        for key in ("next_attempt_at", "last_attempt_at", "claimed_at"):
            item[key] = utc(item[key])
        result.append(item)
    return result

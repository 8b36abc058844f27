"""The do-not-call list in the call-record database (the DoNotCall protocol).

Numbers are stored in E.164 (`normalize_number`), so "+1 (555) 123-4567" and "+15551234567"
are one entry. Each write is its own transaction, committed before the caller hears "we won't
call you again" (the `stop` route, the `do_not_call` tool) and before a dial checks it, in any
process: the CLI, the server, a campaign worker.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.outbound.placing import DncEntry, normalize_number
from agent.records import models as m


class DncList:
    """The do-not-call list on one database engine."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def contains(self, number: str) -> bool:
        number = normalize_number(number)
        async with self.engine.connect() as conn:
            query = select(m.do_not_call.c.number).where(m.do_not_call.c.number == number)
            return (await conn.execute(query)).first() is not None

    async def add(self, number: str, source: str) -> None:
        number = normalize_number(number)
        async with self.engine.begin() as conn:
            query = select(m.do_not_call.c.number).where(m.do_not_call.c.number == number)
            if (await conn.execute(query)).first() is not None:
                return
            if self.engine.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            await conn.execute(
                insert(m.do_not_call)
                .values(number=number, source=source[:64], added_at=datetime.now(UTC))
                .on_conflict_do_nothing(index_elements=["number"])
            )

    async def remove(self, number: str) -> bool:
        number = normalize_number(number)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(m.do_not_call).where(m.do_not_call.c.number == number)
            )
            return bool(result.rowcount)

    async def list(self) -> list[DncEntry]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(m.do_not_call).order_by(m.do_not_call.c.added_at, m.do_not_call.c.number)
                )
            ).mappings()
            return [
                DncEntry(
                    r["number"],
                    r["source"],
                    r["added_at"] if r["added_at"].tzinfo else r["added_at"].replace(tzinfo=UTC),
                )
                for r in rows
            ]

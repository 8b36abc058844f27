"""One campaign worker as its own process, for the two-process Postgres test.

    python -m tests.campaigns.worker_process DATABASE_URL CAMPAIGN_ID OUT_FILE GO_FILE [HANG]

Works the campaign with the real CampaignWorker and claims, on the real clock, with a fake
placer that appends each number it "calls" to OUT_FILE (one line, O_APPEND) and a call that
completes at once. Starts claiming when GO_FILE exists, so both processes start together.
HANG: a number whose REST request never returns (it writes "NUMBER hanging" first), for the
test that kills the process there.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from agent.campaigns.capacity import NoLimit
from agent.campaigns.store import get_campaign
from agent.campaigns.worker import CampaignWorker, WorkerDeps
from agent.graph.hours import SYSTEM_WALL_CLOCK
from agent.outbound.placing import CallOutcome, DialRequest, PlacedCall
from agent.records.store import Store
from tests.campaigns.fakes import FakeDnc


class AppendingPlacer:
    def __init__(self, out: Path, hang: str | None = None):
        self.fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        self.n = 0
        self.hang = hang

    async def place(self, request: DialRequest) -> PlacedCall:
        if request.to == self.hang:
            os.write(self.fd, f"{request.to} hanging\n".encode())
            await asyncio.sleep(3600)
        await asyncio.sleep(0.02)  # the REST request
        os.write(self.fd, f"{request.to} {os.getpid()}\n".encode())
        self.n += 1
        return PlacedCall(f"CA{os.getpid()}x{self.n}", request.to, request.graph)

    async def outcome(self, call_sid: str) -> CallOutcome | None:
        return CallOutcome("completed", "human", 1.0)


async def main(url: str, campaign_id: str, out: Path, go: Path, hang: str | None) -> int:
    store = await Store.open(url)
    try:
        while not go.exists():
            time.sleep(0.01)
        campaign = await get_campaign(store.engine, campaign_id)
        calls = AppendingPlacer(out, hang)
        deps = WorkerDeps(
            engine=store.engine,
            placer=calls,
            outcomes=calls,
            dnc=FakeDnc(),
            capacity=NoLimit(),
            lookup=None,
            clock=SYSTEM_WALL_CLOCK,
            sleep=asyncio.sleep,
        )
        result = await CampaignWorker(campaign, deps, poll_s=0.02).run()
        return 0 if result.finished else 1
    finally:
        await store.close()


if __name__ == "__main__":
    url, cid, out, go = sys.argv[1:5]
    hang = sys.argv[5] if len(sys.argv) > 5 else None
    sys.exit(asyncio.run(main(url, cid, Path(out), Path(go), hang)))

"""The call's record, read back over the server's API (`GET /calls/SID`, ADMIN_TOKEN) once
it is complete: what the expectations read (agent/scenarios/check.py).

Complete: the call has ended, no transfer is still dialling, and for an outbound call Twilio's
final status and the call's own end are both written (`outbound_finished`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp


def outbound_finished(record: dict) -> bool:
    """Twilio's final status and the call's own end are both written (two writers, either
    order: a final status first ends the record provisionally with outcome "completed")."""
    return record.get("call_status") == "completed" and record.get("outcome") not in (
        None,
        "completed",
    )


async def read_record(
    base_url: str,
    admin: str,
    call_sid: str,
    finished: Callable[[dict], bool] | None = None,
    timeout: float = 10.0,
) -> dict:
    """The call's record once it is complete (ended, no transfer still dialling, and
    `finished`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    headers = {"Authorization": f"Bearer {admin}"}
    record = None
    async with aiohttp.ClientSession(headers=headers) as http:
        while loop.time() < deadline:
            async with http.get(f"{base_url}/calls/{call_sid}") as response:
                record = await response.json() if response.status == 200 else None
            if (
                record
                and record.get("ended_at")
                and all(t["status"] != "dialing" for t in record.get("transfers", []))
                and (finished is None or finished(record))
            ):
                return record
            await asyncio.sleep(0.1)
    return record or {}

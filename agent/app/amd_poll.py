"""AMD results that reached another server process: read from the records while an outbound
call has not decided who answered.

With several server processes (WEB_CONCURRENCY), Twilio's /amd callback may land in a
process that does not hold the call's stream: that process records the result
(OutboundRecords.amd), and the stream's own process learns of it here, by asking the records
every POLL_S while the call is undecided (processors/callee_answer.py: at most its decision
caps, seconds). In the process that did receive the callback, `AmdResults` tells the call at
once; the same result read again changes nothing (CalleeAnswer.amd ignores a result after its
decision).

A records database that fails is logged once and asked again at the next poll: the call
still decides from the callee's words and its caps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from loguru import logger

from processors.clock import LOOP_CLOCK, Clock

POLL_S = 0.5


class AmdReader(Protocol):
    """What the watch needs of the records (OutboundRecords fits)."""

    async def amd_result(self, call_sid: str) -> str | None: ...


async def watch_amd_in_records(
    reader: AmdReader,
    call_sid: str,
    deliver: Callable[[str], None],
    undecided: Callable[[], bool],
    *,
    clock: Clock = LOOP_CLOCK,
    every_s: float = POLL_S,
) -> None:
    """Deliver each new AMD result recorded for `call_sid` while `undecided()`; then return."""
    last: str | None = None
    failed = False
    while undecided():
        await clock.sleep(every_s)
        if not undecided():
            return
        try:
            result = await reader.amd_result(call_sid)
        except Exception as exc:
            if not failed:
                logger.warning(
                    f"call ...{call_sid[-8:]}: AMD result not readable from the records "
                    f"({type(exc).__name__}); asking again"
                )
            failed = True
            continue
        if result is not None and result != last:
            last = result
            deliver(result)

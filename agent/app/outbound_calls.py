"""The server's side of outbound calls, shared by its routes and its calls.

    AmdResults          Twilio's AMD result per CallSid, as it arrives at /amd, and who waits
                        for it: an outbound call's stream subscribes (its callee-answer
                        processor) and is told at once when the result came first
    placer(services, public_base) -> TwilioCallPlacer    over the process's Twilio client,
                        graphs, records database and FROM_NUMBER
    add_to_dnc(services, number, source)   the do-not-call list, from a call (the `stop` route,
                        the `do_not_call` tool): through the records database when the server
                        has one open, else opened for this one write, so the promise "we won't
                        call you again" holds on any server

The AMD result reaches a call at once only in the process holding its stream; with several
server processes (WEB_CONCURRENCY) Twilio's callback may land in another one, which records
it, and the call's own process reads it from the records while the call is undecided
(agent/app/amd_poll.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from loguru import logger

from agent.errors import SwitchboardError
from agent.outbound.twilio_placer import TwilioCallPlacer
from agent.records.dnc import DncList
from agent.records.outbound_store import OutboundRecords
from agent.records.store import Store

KEEP_RESULTS = 1000  # AMD results kept for streams that have not started yet


class AmdResults:
    """AnsweredBy per CallSid, and one listener per live outbound call."""

    def __init__(self) -> None:
        self._results: OrderedDict[str, str] = OrderedDict()
        self._listeners: dict[str, Callable[[str], None]] = {}

    def arrived(self, call_sid: str, answered_by: str) -> None:
        listener = self._listeners.get(call_sid)
        if listener is not None:
            listener(answered_by)
            return
        self._results[call_sid] = answered_by
        while len(self._results) > KEEP_RESULTS:
            self._results.popitem(last=False)

    def subscribe(self, call_sid: str, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call `listener(answered_by)` when the result arrives (at once if it has); returns
        the unsubscribe function."""
        self._listeners[call_sid] = listener
        if (early := self._results.pop(call_sid, None)) is not None:
            listener(early)
        return lambda: self._listeners.pop(call_sid, None)


def outbound_records(services) -> OutboundRecords | None:
    return OutboundRecords(services.records.store.engine) if services.records is not None else None


def placer(services, public_base: str) -> TwilioCallPlacer:
    """A placer for this process (its records database must be open: services.records)."""
    engine = services.records.store.engine
    return TwilioCallPlacer(
        services.twilio,
        services.graphs,
        DncList(engine),
        OutboundRecords(engine),
        public_base,
        services.config.from_number,
    )


async def add_to_dnc(services, number: str | None, source: str) -> bool:
    """Put `number` on the do-not-call list; False (logged) when it cannot be."""
    if not number:
        logger.warning(f"do-not-call ({source}): the call has no number to list")
        return False
    try:
        if services.records is not None:
            await DncList(services.records.store.engine).add(number, source)
        else:
            store = await Store.open(services.config.database_url.reveal())
            try:
                await DncList(store.engine).add(number, source)
            finally:
                await store.close()
    except SwitchboardError as exc:
        logger.error(f"do-not-call ({source}): not listed: {exc}")
        return False
    except Exception as exc:  # the database failed: the call goes on
        logger.error(f"do-not-call ({source}): the database failed ({type(exc).__name__})")
        return False
    logger.info(f"do-not-call: a number was listed ({source})")
    return True

"""RecordsRuntime: the process-wide parts of call records, started and stopped with the server.

    store      the database (agent/records/store.py), migrated at start
    writer     the one writer task (agent/records/writer.py)
    extractor  background extraction workers (agent/records/extraction.py), if a graph has that tap
    delivery   posts finished records to CALL_WEBHOOK_URL (agent/records/delivery.py), if set
    outbox     messages for the owner: stored at once, texted (agent/records/outbox.py);
               SMS left pending by a previous run are sent again at start
    expiry     RECORDS_RETENTION_DAYS: old records deleted hourly (agent/records/expiry.py)

With RECORDS_REDACT the writer masks phone numbers, emails and card numbers in what callers
said before it is stored (agent/records/redact.py).

The server starts it (`start`) before the first call when a graph has a `call_recorder` or
`lead_extraction` tap, records calls (`call.record`: the recording's path goes in the
record) or takes messages (`messages:`), places calls (FROM_NUMBER, a graph with `vars:` or
`call.voicemail`), or ADMIN_TOKEN is set (the API reads the database), and keeps it in
`Services.records`; a call's taps find it as `LiveCall.records` (agent/app/pipeline.py).
`close()` runs after the last call ended: it writes what is queued, waits (bounded) for
record deliveries, closes.
"""

from __future__ import annotations

import asyncio
import time

from loguru import logger

from agent.records.delivery import RecordDelivery
from agent.records.expiry import ExpiryTask
from agent.records.extraction import Extractor
from agent.records.outbox import MessageOutbox, SmsSender
from agent.records.redact import redact_event
from agent.records.store import Store
from agent.records.writer import RecordWriter
from processors.clock import LOOP_CLOCK

RECORDING_TYPES = ("call_recorder", "lead_extraction")


def wanted(config, graphs) -> bool:
    """Does this server need the database at all?"""
    if config.admin_token or any(g.call.record or g.messages is not None for g in graphs.values()):
        return True  # the API reads the database; a recording's path, a message live in it
    if config.from_number or any(g.vars or g.call.voicemail for g in graphs.values()):
        return True  # outbound calls: their status, AMD result and the do-not-call list
    return any(node.type.name in RECORDING_TYPES for g in graphs.values() for node in g.tap_nodes())


def uses_extraction(graphs) -> bool:
    return any(
        node.type.name == "lead_extraction" for g in graphs.values() for node in g.tap_nodes()
    )


class RecordsRuntime:
    """The database, its writer, and (when wanted) the extractor and the record delivery."""

    def __init__(
        self,
        store: Store,
        writer: RecordWriter,
        extractor: Extractor | None = None,
        delivery: RecordDelivery | None = None,
        outbox: MessageOutbox | None = None,
    ):
        self.store = store
        self.writer = writer
        self.extractor = extractor
        self.delivery = delivery
        self.outbox = outbox if outbox is not None else MessageOutbox(store.engine, None)
        self.expiry: ExpiryTask | None = None
        self._expiry_task: asyncio.Task | None = None

    def start_expiry(self, days: int, metrics=None) -> None:
        """Delete records older than `days` now and hourly (nothing when 0)."""
        if days <= 0:
            return
        on_deleted = metrics.records_expired.inc if metrics is not None else (lambda n: None)
        self.expiry = ExpiryTask(
            self.store.engine,
            days,
            clock=LOOP_CLOCK,
            wall=time.time,
            in_thread=asyncio.to_thread,
            on_deleted=on_deleted,
        )
        self._expiry_task = asyncio.create_task(self.expiry.run(), name="records-expiry")

    @classmethod
    async def start(
        cls, config, graphs, metrics=None, sms: SmsSender | None = None
    ) -> RecordsRuntime:
        store = await Store.open(
            config.database_url.reveal(), connect_timeout_s=config.database_wait_seconds
        )
        logger.info(f"call records: {store.dialect} database ready")
        writer = RecordWriter(
            store, metrics, redact=redact_event if config.records_redact else None
        )
        writer.start()
        extractor = None
        if uses_extraction(graphs):
            extractor = Extractor(config, writer, metrics)
            extractor.start()
        delivery = None
        if config.call_webhook_url:
            secret = config.call_webhook_secret.reveal() if config.call_webhook_secret else None
            if not secret:
                logger.warning("CALL_WEBHOOK_URL is set without CALL_WEBHOOK_SECRET: unsigned")
            delivery = RecordDelivery(config.call_webhook_url, secret, metrics)
        outbox = MessageOutbox(store.engine, sms)
        await outbox.start()
        runtime = cls(store, writer, extractor, delivery, outbox)
        runtime.start_expiry(config.records_retention_days, metrics)
        return runtime

    async def close(self) -> None:
        if self._expiry_task is not None:
            self._expiry_task.cancel()
            await asyncio.gather(self._expiry_task, return_exceptions=True)
            self._expiry_task = None
        await self.outbox.close()
        if self.delivery is not None:
            await self.delivery.close()
        if self.extractor is not None:
            await self.extractor.close()
        await self.writer.close()
        await self.store.close()

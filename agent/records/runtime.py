"""RecordsRuntime: the process-wide parts of call records, started and stopped with the server.

    store      the database (agent/records/store.py), migrated at start
    writer     the one writer task (agent/records/writer.py)
    extractor  background extraction workers (agent/records/extraction.py), if a graph has that tap
    webhook    the call webhook sender (agent/records/delivery.py), if CALL_WEBHOOK_URL is set

The server starts it (`start`) before the first call when a graph has a `call_recorder` or
`lead_extraction` tap, or ADMIN_TOKEN is set (the API reads the database), and puts it in
`Services.shared[RUNTIME_KEY]`, where the taps find it when a call starts. `close()` runs
after the last call ended: it writes what is queued, waits (bounded) for webhooks, closes.
"""

from __future__ import annotations

from loguru import logger

from agent.records.delivery import WebhookSender
from agent.records.extraction import Extractor
from agent.records.store import Store
from agent.records.writer import RecordWriter

RUNTIME_KEY = "records.runtime"
RECORDING_TYPES = ("call_recorder", "lead_extraction")


def wanted(config, graphs) -> bool:
    """Does this server need the database at all?"""
    if config.admin_token:
        return True
    return any(node.type.name in RECORDING_TYPES for g in graphs.values() for node in g.tap_nodes())


def uses_extraction(graphs) -> bool:
    return any(
        node.type.name == "lead_extraction" for g in graphs.values() for node in g.tap_nodes()
    )


class RecordsRuntime:
    def __init__(self, store: Store, writer: RecordWriter, extractor=None, webhook=None):
        self.store = store
        self.writer = writer
        self.extractor: Extractor | None = extractor
        self.webhook: WebhookSender | None = webhook

    @classmethod
    async def start(cls, config, graphs, metrics=None) -> RecordsRuntime:
        store = await Store.open(
            config.database_url.reveal(), connect_timeout_s=config.database_wait_seconds
        )
        logger.info(f"call records: {store.dialect} database ready")
        writer = RecordWriter(store, metrics)
        writer.start()
        extractor = None
        if uses_extraction(graphs):
            extractor = Extractor(config, writer, metrics)
            extractor.start()
        webhook = None
        if config.call_webhook_url:
            secret = config.call_webhook_secret.reveal() if config.call_webhook_secret else None
            if not secret:
                logger.warning("CALL_WEBHOOK_URL is set without CALL_WEBHOOK_SECRET: unsigned")
            webhook = WebhookSender(config.call_webhook_url, secret, metrics)
        return cls(store, writer, extractor, webhook)

    async def close(self) -> None:
        if self.webhook is not None:
            await self.webhook.close()
        if self.extractor is not None:
            await self.extractor.close()
        await self.writer.close()
        await self.store.close()


def runtime_of(shared: dict) -> RecordsRuntime | None:
    return shared.get(RUNTIME_KEY)

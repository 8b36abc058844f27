"""Record delivery (the "call webhook"): POST each finished call's record to CALL_WEBHOOK_URL,
signed, retried.

The body is the JSON of `GET /calls/{call_sid}` plus `"event": "call.completed"` (so it
carries the call's `messages` for the owner, each with its SMS's state). Signature:

    X-Switchboard-Timestamp: <unix seconds>
    X-Switchboard-Signature: sha256=<hex HMAC-SHA256(CALL_WEBHOOK_SECRET, "<timestamp>.<raw body>")>

so a receiver checks the HMAC over the raw bytes it received and refuses old timestamps
(replays); `verify()` below is the reference check (README shows the same in a few lines).
Without CALL_WEBHOOK_SECRET the request goes unsigned (a warning at start).

Delivery runs in a background task per call, after the call's extraction has settled and its
records are written: up to ATTEMPTS tries with exponential backoff on a network error, a
timeout, 429 or 5xx; any other 4xx is final. Every outcome is logged and counted
(`switchboard_call_webhooks`), never raised.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import aiohttp
from loguru import logger

from agent.records.background import BackgroundTasks

SIGNATURE_HEADER = "X-Switchboard-Signature"
TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
ATTEMPTS = 5
BACKOFF_S = 0.5
TIMEOUT_S = 10.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str, body: bytes, timestamp: str, signature: str, *, tolerance_s: float = 300
) -> bool:
    """What a receiver does: the HMAC matches and the timestamp is recent."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


class RecordDelivery:
    """Delivers finished call records to CALL_WEBHOOK_URL; one task per call."""

    def __init__(self, url: str, secret: str | None, metrics=None, *, backoff_s: float = BACKOFF_S):
        self.url = url
        self._secret = secret
        self._metrics = metrics
        self._backoff_s = backoff_s
        self._tasks = BackgroundTasks()
        self._session: aiohttp.ClientSession | None = None

    def schedule(self, make_body) -> None:
        """Deliver `await make_body()` (None: nothing to send) in the background."""
        self._tasks.spawn(self._deliver(make_body), "record-delivery")

    async def close(self, timeout: float = 10.0) -> None:
        await self._tasks.settle(timeout)
        if self._session is not None:
            await self._session.close()

    async def _deliver(self, make_body) -> None:
        try:
            record = await make_body()
            if record is None:
                return
            await self.post({"event": "call.completed", **record})
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("call webhook: could not build the record")
            self._count("failed")

    async def post(self, payload: dict) -> bool:
        """POST one payload with retries; True once the receiver answered 2xx."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        call = str(payload.get("call_sid", "?"))[-8:]
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
        for attempt in range(ATTEMPTS):
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
            if self._secret:
                headers[SIGNATURE_HEADER] = sign(self._secret, timestamp, body)
            try:
                async with self._session.post(self.url, data=body, headers=headers) as resp:
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, why = None, exc.__class__.__name__
            else:
                why = f"HTTP {status}"
                if 200 <= status < 300:
                    self._count("ok")
                    return True
                if 400 <= status < 500 and status != 429:
                    logger.error(f"call webhook for ...{call}: refused ({why}); not retrying")
                    self._count("failed")
                    return False
            if attempt + 1 < ATTEMPTS:
                logger.warning(f"call webhook for ...{call}: {why}; retrying")
                self._count("retried")
                await asyncio.sleep(self._backoff_s * 2**attempt)
        logger.error(f"call webhook for ...{call}: gave up after {ATTEMPTS} attempts")
        self._count("failed")
        return False

    def _count(self, result: str) -> None:
        if self._metrics is not None:
            self._metrics.record_deliveries.labels(result).inc()

"""MessageOutbox: messages for the owner, stored the moment they are taken, texted, never lost.

    taken (processors/message_taking.py) -> CallMessages.message_taken (the call's sink)
        -> MessageOutbox.take: a background task; the call never waits
            1. save_message: the message in the call record, its SMS "pending" (or "none"),
               retried with backoff while the database fails
            2. send: Twilio's Messages API through the SmsSender (agent/twilio/rest.py,
               one attempt each); after each attempt the outcome is written on the message:
               sent (Twilio's SID), failed (a refusal: 4xx, no retry), or still pending
               (5xx, 429, network: again after SMS_BACKOFF_S[n], on the injected sleep)
    start(): SMS still pending in the database (the process stopped between attempts) are
             sent again, each claimed first so that two processes send it once: a process
             claims the SMS it is sending; a clean stop releases them, a crash's claims go
             stale after CLAIM_STALE_S (longer than any wait between attempts)
    close(): bounded wait; what is still pending stays pending, for the next start

A message whose every attempt failed is `failed` with its last error and the text kept
(`sms.body`), so nothing is lost: `GET /calls/SID` and the call webhook show it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

from loguru import logger
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.records.background import BackgroundTasks
from agent.records.message_store import (
    NewMessage,
    SmsUpdate,
    claim_sms,
    pending_sms,
    release_sms,
    save_message,
    update_sms,
)
from processors.message_taking import TakenMessage

SMS_BACKOFF_S = (2.0, 10.0, 30.0, 120.0, 600.0)  # waits between the 6 attempts (~13 min)
SAVE_BACKOFF_S = (0.2, 1.0, 3.0, 10.0)
MAX_ABOUT = 300
CLAIM_STALE_S = 900.0


class SmsResult(Protocol):
    sent: bool
    sid: str | None
    error: str
    retryable: bool


class SmsSender(Protocol):
    """Sends one SMS, one attempt, never raises (agent/twilio/rest.py TwilioRestClient)."""

    async def send_message(self, to: str, from_: str, body: str) -> SmsResult: ...


def sms_body(message: TakenMessage, call_sid: str) -> str:
    """The text the owner gets."""
    about = (message.about or "(not said)").strip()
    if len(about) > MAX_ABOUT:
        about = about[: MAX_ABOUT - 1] + "…"
    number = message.callback_number or "(no number)"
    check = "" if message.confirmed else " (number not confirmed)"
    return (
        f"Message from {message.name or '(no name)'}, call back on {number}{check}: {about}"
        f" [call {call_sid[-8:]}]"
    )


class MessageOutbox:
    """Stores messages and sends their SMS; one per process (agent/records/runtime.py)."""

    def __init__(
        self,
        engine: AsyncEngine,
        sender: SmsSender | None,
        *,
        backoff_s: tuple[float, ...] | None = None,  # None: SMS_BACKOFF_S
        save_backoff_s: tuple[float, ...] | None = None,  # None: SAVE_BACKOFF_S
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._engine = engine
        self._sender = sender
        self._backoff_s = SMS_BACKOFF_S if backoff_s is None else backoff_s
        self._save_backoff_s = SAVE_BACKOFF_S if save_backoff_s is None else save_backoff_s
        self._sleep = sleep
        self._tasks = BackgroundTasks()
        self._token = uuid.uuid4().hex  # this process's claim on the SMS it sends
        self.saved: list[int] = []  # ids of the messages this process stored

    def _spawn(self, coro, name: str) -> asyncio.Task:
        return self._tasks.spawn(coro, name)

    def take(self, message: NewMessage) -> asyncio.Task:
        """Store and send `message` in the background (never raises, never waits)."""
        return self._spawn(self.store_and_send(message), f"message-{message.call_sid[-8:]}")

    async def store_and_send(self, message: NewMessage) -> int | None:
        message_id = await self._save(message)
        if message_id is None or message.sms_body is None:
            return message_id
        if message.sms_to and message.to_number:
            await self.send(message_id, message.sms_to, message.to_number, message.sms_body)
        else:
            why = "the call has no called number to send from"
            await self._record(message_id, SmsUpdate("failed", 0, error=why))
        return message_id

    async def _save(self, message: NewMessage) -> int | None:
        for attempt in range(len(self._save_backoff_s) + 1):
            try:
                message_id = await save_message(self._engine, message, self._token)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(f"message for ...{message.call_sid[-8:]}: not stored ({exc!r})")
                if attempt < len(self._save_backoff_s):
                    await self._sleep(self._save_backoff_s[attempt])
                continue
            self.saved.append(message_id)
            logger.info(f"message {message_id} stored for call ...{message.call_sid[-8:]}")
            return message_id
        logger.error(f"message for call ...{message.call_sid[-8:]} could not be stored")
        return None

    async def send(
        self, message_id: int, to: str, from_: str, body: str, attempts: int = 0
    ) -> SmsUpdate:
        """Send with retries; every attempt's outcome written on the message."""
        if self._sender is None:
            return await self._record(
                message_id, SmsUpdate("failed", attempts, error="no SMS sender")
            )
        while True:
            result = await self._sender.send_message(to, from_, body)
            attempts += 1
            if result.sent:
                logger.info(f"message {message_id}: SMS sent ({result.sid})")
                return await self._record(message_id, SmsUpdate("sent", attempts, sid=result.sid))
            retry = result.retryable and attempts <= len(self._backoff_s)
            state = SmsUpdate("pending" if retry else "failed", attempts, error=result.error)
            await self._record(message_id, state)
            if not retry:
                logger.error(f"message {message_id}: SMS failed ({result.error}); text kept")
                return state
            logger.warning(f"message {message_id}: SMS attempt {attempts} failed ({result.error})")
            await self._sleep(self._backoff_s[attempts - 1])

    async def _record(self, message_id: int, state: SmsUpdate) -> SmsUpdate:
        try:
            await update_sms(self._engine, message_id, state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.error(f"message {message_id}: SMS state {state.status} not stored ({exc!r})")
        return state

    async def start(self) -> int:
        """Send again the SMS left pending by a previous run; how many were claimed."""
        claimed = 0
        for row in await pending_sms(self._engine):
            if not await claim_sms(self._engine, row["id"], self._token, CLAIM_STALE_S):
                continue  # another process is on it
            claimed += 1
            sms = row["sms"]
            self._spawn(
                self.send(row["id"], sms["to"], sms["from"], sms["body"], sms["attempts"]),
                f"message-{row['id']}-resend",
            )
        if claimed:
            logger.info(f"messages: sending {claimed} pending SMS again")
        return claimed

    async def close(self, timeout: float = 10.0) -> None:
        """Wait (bounded) for messages in flight; SMS still pending are sent at next start."""
        if cancelled := await self._tasks.settle(timeout):
            logger.warning(f"messages: {cancelled} SMS still pending; sent at next start")
        try:
            await release_sms(self._engine, self._token)
        except Exception as exc:
            logger.warning(f"messages: could not release pending SMS ({exc!r})")


class CallMessages:
    """One call's MessageSink (processors/message_taking.py): its messages to the outbox."""

    def __init__(
        self,
        outbox: MessageOutbox,
        *,
        call_sid: str,
        graph: str,
        from_number: str | None,
        to_number: str | None,
        sms_to: str | None,
    ):
        self._outbox = outbox
        self._call_sid, self._graph = call_sid, graph
        self._from, self._to, self._sms_to = from_number, to_number, sms_to
        self._started = datetime.now(UTC)

    def message_taken(self, message: TakenMessage) -> None:
        self._outbox.take(
            NewMessage(
                call_sid=self._call_sid,
                graph=self._graph,
                call_started_at=self._started,
                from_number=self._from,
                to_number=self._to,
                taken_at=message.taken_at,
                reason=message.reason,
                name=message.name,
                callback_number=message.callback_number,
                about=message.about,
                confirmed=message.confirmed,
                sms_to=self._sms_to,
                sms_body=sms_body(message, self._call_sid) if self._sms_to else None,
            )
        )

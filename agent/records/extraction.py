"""Background extraction (`lead_extraction` tap): a typed record of what the caller wants.

After each completed agent turn the call's transcript so far goes, in the background, to a
Groq chat model through Instructor (OpenAI-compatible API, tool-call mode), which fills a
pydantic model: the default `lead` schema (intent, name, phone, email, next_step,
consent_to_follow_up, notes) or the fields a graph declares. The answer is merged into the
previous snapshot (a field the model leaves empty keeps its earlier value) and stored with
the call record (`extractions` rows, `calls.extraction`).

Never in the call's way:
- the call only calls `CallExtraction.turn_ended()`, which marks the call dirty and puts it on
  one process-wide bounded queue (at most once: a call waiting in the queue is not queued
  again, and its job reads the latest transcript when it runs). A full queue drops the
  request (logged, counted);
- a few worker tasks run the jobs, one job per call at a time, each request bounded by
  `timeout_s`, failures retried `retries` times with backoff, then recorded on the call
  (an `extractions` row with the error, `calls.extraction_error`) and counted; nothing is
  ever raised into the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from loguru import logger
from pydantic import BaseModel, Field, create_model

from agent.records.store import ExtractionRecord

QUEUE_SIZE = 1000
WORKERS = 4
BACKOFF_S = 0.5
CLOSE_TIMEOUT_S = 5.0  # shutdown: how long queued jobs may still run

SYSTEM_PROMPT = (
    "You read the transcript of a phone call between a caller and an AI receptionist and "
    "fill in the record of what the caller wants. Use only what was said; leave a field "
    "empty (null) when the caller has not said it. The previous record is given: keep its "
    "values unless the caller corrected them."
)


class Lead(BaseModel):
    """The default `lead` schema."""

    intent: str | None = Field(None, description="What the caller wants, in a few words.")
    name: str | None = Field(None, description="The caller's name.")
    phone: str | None = Field(None, description="A phone number the caller gave.")
    email: str | None = Field(None, description="An email address the caller gave.")
    next_step: str | None = Field(None, description="What happens next (callback, visit, ...).")
    consent_to_follow_up: bool | None = Field(
        None, description="Whether the caller agreed to be contacted again."
    )
    notes: str | None = Field(None, description="Anything else worth passing on, briefly.")


FIELD_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "string_list": list[str],
}


def schema_model(name: str, fields: dict | None) -> type[BaseModel]:
    """The pydantic model for a schema: `Lead`, or one built from a graph's `fields`.

    The same schema gives the same class: the tap is built for every call, and a class per
    call would defeat the request-model cache below (and leave a class per call to the
    garbage collector)."""
    if not fields:
        return Lead
    return _fields_model(name, tuple((k, f.type, f.description) for k, f in fields.items()))


@functools.lru_cache(maxsize=64)
def _fields_model(name: str, fields: tuple[tuple[str, str, str], ...]) -> type[BaseModel]:
    spec = {
        key: (FIELD_TYPES[kind] | None, Field(None, description=description))
        for key, kind, description in fields
    }
    title = "".join(part.capitalize() for part in name.replace("-", "_").split("_")) or "Record"
    return create_model(title, **spec)


@functools.lru_cache(maxsize=64)
def request_model(model_cls: type[BaseModel]) -> type[BaseModel]:
    """`model_cls` as Instructor's response schema, built once per schema.

    Given a plain pydantic model, Instructor wraps it in a new class on every request: a
    pydantic class creation plus a fresh JSON schema (its own schema cache is keyed by class,
    so it never hits), about 40% of an extraction's CPU at 100 calls (py-spy), and a class
    per request for the garbage collector. Given its wrapped class, it does neither."""
    from instructor import openai_schema

    return openai_schema(model_cls)


def merge(previous: dict, new: dict) -> dict:
    """New values win; a field left empty keeps its earlier value."""
    merged = dict(previous)
    for key, value in new.items():
        if value is not None and value != "" and value != []:
            merged[key] = value
    return merged


def transcript_text(turns) -> str:
    lines = []
    for turn in turns:
        who = "Caller" if turn.role == "caller" else "Agent"
        said = turn.heard_text if turn.role == "agent" and turn.interrupted else turn.text
        if said:
            lines.append(f"{who}: {said}")
    return "\n".join(lines)


@dataclass(eq=False)
class CallExtraction:
    """One call's extraction state (created by the tap when the call starts)."""

    call_sid: str
    schema_name: str
    model_cls: type[BaseModel]
    model: str
    timeout_s: float
    retries: int
    instructions: str | None = None
    store: bool = True  # False when the call is not recorded (no call_recorder tap)
    snapshot: dict = field(default_factory=dict)
    seq: int = 0
    turns: list = field(default_factory=list)  # the call's turns so far (shared, read-only)
    queued: bool = False
    running: bool = False
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.settled.set()


class Extractor:
    """Process-wide: the queue, the workers and the Instructor client."""

    def __init__(self, config, writer=None, metrics=None, *, workers: int = WORKERS):
        self._config = config
        self._writer = writer
        self._metrics = metrics
        self._queue: asyncio.Queue[CallExtraction] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._n_workers = workers
        self._tasks: list[asyncio.Task] = []
        self._client = None
        self._busy = 0  # jobs being worked on right now

    def start(self) -> None:
        # Build the Instructor client now, at server start: its first use imports most of
        # instructor (~1 s of blocking work, profiled), which mid-call stalled the event
        # loop, and every live call's audio with it, on the first assistant turn.
        self._instructor()
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._work(), name=f"extraction-{i}")
                for i in range(self._n_workers)
            ]

    async def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Finish the jobs already queued or running (up to `timeout`), then stop: a call
        that ended just before a deploy still gets its last snapshot."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self._queue.qsize() or self._busy) and self._tasks and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if left := self._queue.qsize() + self._busy:
            logger.warning(f"extraction: {left} job(s) unfinished at shutdown")
            self._count("dropped", left)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._client is not None:
            with contextlib.suppress(Exception):  # closing is best effort
                await self._client.client.close()

    def submit(self, call: CallExtraction) -> None:
        """The call has a new completed turn: extract again soon. Never waits."""
        if call.queued:
            return  # its job will read the latest transcript
        try:
            self._queue.put_nowait(call)
        except asyncio.QueueFull:
            self._count("dropped")
            logger.warning(f"extraction queue full: skipping call ...{call.call_sid[-8:]}")
            return
        call.queued = True
        call.settled.clear()

    async def _work(self) -> None:
        while True:
            call = await self._queue.get()
            call.queued = False
            call.running = True
            self._busy += 1
            try:
                await self._extract(call)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not stop the worker
                logger.exception("extraction worker: unexpected error")
            finally:
                self._busy -= 1
                call.running = False
                if not call.queued:
                    call.settled.set()

    async def _extract(self, call: CallExtraction) -> None:
        turns = list(call.turns)
        if not turns:
            return
        messages = [
            {
                "role": "system",
                "content": SYSTEM_PROMPT
                + (f"\n\n{call.instructions}" if call.instructions else ""),
            },
            {
                "role": "user",
                "content": f"Previous record: {json.dumps(call.snapshot)}\n\n"
                f"Transcript:\n{transcript_text(turns)}",
            },
        ]
        error = None
        attempts = 0
        for attempt in range(call.retries + 1):
            attempts = attempt + 1
            started = time.perf_counter()
            try:
                result = await asyncio.wait_for(self._ask(call, messages), timeout=call.timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = _describe(exc, call.timeout_s)
                logger.warning(
                    f"extraction for call ...{call.call_sid[-8:]} failed "
                    f"(attempt {attempts}/{call.retries + 1}): {error}"
                )
                if attempt < call.retries:
                    self._count("retried")
                    await asyncio.sleep(BACKOFF_S * 2**attempt)
                continue
            empty = dict.fromkeys(call.model_cls.model_fields)  # every field, even unset
            call.snapshot = merge({**empty, **call.snapshot}, result.model_dump(mode="json"))
            logger.debug(
                f"extraction for call ...{call.call_sid[-8:]} in "
                f"{time.perf_counter() - started:.2f}s"
            )
            self._count("ok")
            self._record(call, turns[-1].seq, dict(call.snapshot), None, attempts)
            return
        self._count("failed")
        self._record(call, turns[-1].seq, None, error, attempts)

    async def _ask(self, call: CallExtraction, messages: list[dict]) -> BaseModel:
        client = self._instructor()
        return await client.chat.completions.create(
            model=call.model,
            response_model=request_model(call.model_cls),
            messages=messages,
            max_retries=1,  # Instructor's own re-ask on an answer that fails validation
            temperature=0,
        )

    def _instructor(self):
        if self._client is None:
            import instructor
            from openai import AsyncOpenAI

            key = self._config.require("GROQ_API_KEY", "the lead_extraction tap")
            openai_client = AsyncOpenAI(
                api_key=key.reveal(),
                base_url=self._config.groq_base_url,
                max_retries=0,  # retries are ours, with the call's budget
                timeout=60,
            )
            self._client = instructor.from_openai(openai_client, mode=instructor.Mode.TOOLS)
        return self._client

    def _record(self, call, after_turn, data, error, attempts) -> None:
        call.seq += 1
        if self._writer is not None and call.store:
            self._writer.enqueue(
                ExtractionRecord(
                    call_sid=call.call_sid,
                    seq=call.seq,
                    after_turn=after_turn,
                    created_at=datetime.now(UTC),
                    schema_name=call.schema_name,
                    data=data,
                    error=error,
                    attempts=attempts,
                )
            )

    def _count(self, result: str, n: int = 1) -> None:
        if self._metrics is not None:
            self._metrics.extractions.labels(result).inc(n)


def _describe(exc: Exception, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s:g}s"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}"[:500]

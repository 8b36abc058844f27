"""The `call_recorder` and `lead_extraction` taps: call hooks, not frame observers.

Both join a call once its worker exists (`attach(live)`, see agent/app/pipeline.py) and
hear about turns from the call's TurnTracker (agent/records/turns.py), which is fed by a few
frame types at the pipeline's end and by processor events: nothing runs per audio frame.

CallRecorder: `CallStarted` when the call starts, a `TurnRecord` the moment each turn ends,
`CallEnded` (outcome, duration) when it is over (a call back from a transfer continues
the same record: its turns number on, its duration counts from the call's start), all
handed to the process's RecordWriter
(enqueue only: the call never waits on the database); then, if CALL_WEBHOOK_URL is set, the
finished record is delivered once the call's extraction has settled.

ExtractionTap: after each completed agent turn, asks the process's Extractor to extract
again (agent/records/extraction.py); at the end of the call the last request still runs.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from loguru import logger

from agent.records.extraction import CallExtraction, schema_model
from agent.records.store import CallEnded, CallStarted, TurnRecord

SETTLE_TIMEOUT_S = 60.0


def call_started(call, graph: str, at: float) -> CallStarted:
    """The event that creates a call's record (also sent by a recording: a graph may record
    calls without the call_recorder tap; the first one written wins)."""
    return CallStarted(
        call_sid=call.call_sid,
        stream_sid=call.stream_sid,
        account_sid=call.account_sid,
        from_number=call.from_number,
        to_number=call.to_number,
        graph=graph,
        started_at=datetime.fromtimestamp(at, UTC),
    )


class CallRecorder:
    """Writes one call's record as it goes."""

    def __init__(self, name: str = "recorder"):
        self.name = name
        self._runtime = None
        self._call_sid: str | None = None
        self._started = 0.0

    def attach(self, live) -> None:
        runtime = live.records
        if runtime is None:
            logger.warning(f"{self.name}: call records are not running; this call is not recorded")
            return
        self._runtime = runtime
        call = live.call
        self._call_sid = call.call_sid
        self._started = time.time()
        if live.started_at is not None:  # back from a transfer: the call's own start
            self._started = live.started_at
        runtime.writer.enqueue(call_started(call, live.graph.name, self._started))
        live.turns().on_turn(self._on_turn)

    def _on_turn(self, turn) -> None:
        self._runtime.writer.enqueue(
            TurnRecord(
                call_sid=self._call_sid,
                seq=turn.seq,
                role=turn.role,
                text=turn.text,
                heard_text=turn.heard_text,
                interrupted=turn.interrupted,
                source=turn.source,
                route=turn.route,
                started_at=turn.started_at,
                ended_at=turn.ended_at,
                latency_ms=turn.latency_ms,
                failure=turn.failure,
            )
        )

    async def finish(self, live, outcome: str) -> None:
        runtime = self._runtime
        if runtime is None:
            return
        ended = time.time()
        runtime.writer.enqueue(
            CallEnded(
                call_sid=self._call_sid,
                ended_at=datetime.fromtimestamp(ended, UTC),
                outcome=outcome,
                duration_s=round(ended - self._started, 3),
                reason=live.end_reason or None,
            )
        )
        # A transferred call's record is final when Twilio reports the dial's end
        # (agent/app/transfers.py delivers it then).
        if runtime.delivery is not None and outcome != "transferred":
            runtime.delivery.schedule(lambda: self._finished_record(runtime, live))

    async def _finished_record(self, runtime, live) -> dict | None:
        extraction = live.per_call.get("extraction")
        if extraction is not None:
            try:
                await asyncio.wait_for(extraction.settled.wait(), SETTLE_TIMEOUT_S)
            except TimeoutError:
                logger.warning("call webhook: extraction still running; sending without it")
        await runtime.writer.flush()
        return await runtime.store.get_call(self._call_sid)


class ExtractionTap:
    """Re-extracts the caller's record after each completed agent turn."""

    def __init__(self, params, model: str, name: str = "extraction"):
        self.name = name
        self._params = params
        self._model = model
        self._model_cls = schema_model(params.schema_name, params.fields)
        self._state = None
        self._extractor = None

    def attach(self, live) -> None:
        runtime = live.records
        if runtime is None or runtime.extractor is None:
            logger.warning(f"{self.name}: extraction is not running; this call is not extracted")
            return
        self._extractor = runtime.extractor
        tracker = live.turns()
        self._state = CallExtraction(
            call_sid=live.call.call_sid,
            schema_name=self._params.schema_name,
            model_cls=self._model_cls,
            model=self._model,
            timeout_s=self._params.timeout_s,
            retries=self._params.retries,
            instructions=self._params.instructions,
            store=any(n.type.name == "call_recorder" for n in live.graph.tap_nodes()),
            turns=tracker.turns,
        )
        live.per_call["extraction"] = self._state
        tracker.on_turn(self._on_turn)

    def _on_turn(self, turn) -> None:
        if (
            turn.role == "agent"
            and self._state.turns
            and any(t.role == "caller" for t in self._state.turns)
        ):
            self._extractor.submit(self._state)

    async def finish(self, live, outcome: str) -> None:
        return None  # a queued request still runs; the record delivery waits for it

"""One call's outbound parts, bound at pipeline assembly (agent/app/pipeline.py).

call_details(parameters)    direction and call variables from the stream's parameters
                            (`direction=outbound`, `var.NAME`: agent/outbound/twilio_placer.py)
bind_callee_answer(...)     outbound calls: the controller's greeting waits; a CalleeAnswer
                            (processors/callee_answer.py) right after the STT decides person
                            or machine (AMD from /amd through `Services.amd`, or read from
                            the records when another server process received it:
                            agent/app/amd_poll.py; or the first words): a person hears the
                            rendered greeting, a machine the rendered `call.voicemail` once,
                            then the agent hangs up; the record says which and why
                            (OutboundRecords.answered)
bind_do_not_call(...)       the controller's `list_number`: the `stop` route and the
                            do_not_call tool list the call's number (the caller's `From`
                            inbound, the callee's `To` outbound)
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import partial

from loguru import logger

from agent.app.amd_poll import watch_amd_in_records
from agent.app.outbound_calls import add_to_dnc, outbound_records
from agent.outbound.twilio_placer import DIRECTION_PARAMETER, VAR_PARAMETER
from processors.callee_answer import CalleeAnswer

_background: set[asyncio.Task] = set()


def call_details(parameters: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """(direction, variables) from a stream's custom parameters."""
    direction = "outbound" if parameters.get(DIRECTION_PARAMETER) == "outbound" else "inbound"
    variables = {
        key.removeprefix(VAR_PARAMETER): value
        for key, value in parameters.items()
        if key.startswith(VAR_PARAMETER)
    }
    return direction, variables


def _record_answer(services, call_sid: str, kind: str, why: str) -> None:
    records = outbound_records(services)
    if records is None:
        return

    async def write() -> None:
        try:
            await records.answered(call_sid, kind, why)
        except Exception as exc:  # the record misses it; the call goes on
            logger.error(f"who answered was not recorded ({type(exc).__name__})")

    task = asyncio.get_running_loop().create_task(write(), name="record-answered")
    _background.add(task)
    task.add_done_callback(_background.discard)


def bind_callee_answer(services, graph, call, settings, controller, chain: list, gb) -> list:
    """The chain with a CalleeAnswer after the STT (outbound calls; module docstring)."""

    def on_human(why: str) -> None:
        _record_answer(services, call.call_sid, "human", why)
        if settings.greeting:
            controller.create_task(controller.say(settings.greeting), name="outbound-greeting")

    def on_machine(why: str) -> None:
        _record_answer(services, call.call_sid, "machine", why)
        message = settings.voicemail or ""
        controller.create_task(
            controller.hang_up("voicemail", goodbye=message), name="outbound-voicemail"
        )

    callee = CalleeAnswer(on_human=on_human, on_machine=on_machine, name="callee-answer")
    callee.release = services.amd.subscribe(call.call_sid, callee.amd)
    records = outbound_records(services)
    if records is not None:  # Twilio's /amd may reach another server process
        callee.watch = partial(
            watch_amd_in_records, records, call.call_sid, callee.amd, callee.undecided
        )
    chain = list(chain)
    at = 0  # no STT found: right at the chain's start (AMD and the caps decide)
    for node in graph.chain_nodes():
        if "transcript" in node.type.produces and node.name in gb.nodes:
            last = gb.nodes[node.name].processors[-1] if gb.nodes[node.name].processors else None
            found = next((i for i, p in enumerate(chain) if p is last), None)
            if found is not None:
                at = found + 1
            break
    chain.insert(at, callee)
    return chain


def bind_do_not_call(services, call, controller) -> None:
    number = call.to_number if call.direction == "outbound" else call.from_number

    async def list_number(source: str) -> bool:
        # Its own task, shielded: the call ending right after "we won't call you again"
        # (the controller's tasks are cancelled) must not cancel the write.
        task = asyncio.get_running_loop().create_task(
            add_to_dnc(services, number, source), name="do-not-call-write"
        )
        _background.add(task)
        task.add_done_callback(_background.discard)
        return await asyncio.shield(task)

    controller.list_number = list_number

"""An outbound scenario's call, placed as a real one is: POST /calls on the run's server.

The server's placer (agent/outbound/twilio_placer.py) creates the call with the real Twilio
REST client against the Twilio fake, which hands it to the emulator (`fakes.twilio.outbound`);
the emulator answers as the scenario's callee (agent/sim/outbound.py): the status and AMD
callbacks, signed, and the media stream carrying the call's variables as the TwiML's
`<Parameter>`s. Nothing here fakes the inbound webhook: what a scenario tests is the path a
`dial`, a campaign or an HTTP client takes.

- The callee: a person (their `hello`, then the scenario's steps) or an answering machine (its
  greeting, a beep, then it records): `Callee.script` from agent/scenarios/caller.py.
- The call comes from the graph's first number (OUR_NUMBER when it lists none) to the
  scenario's `to` (CALLEE_NUMBER by default).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from agent.graph.callvars import render
from agent.graph.resolved import Graph
from agent.scenarios.caller import callee_script
from agent.scenarios.model import Scenario
from agent.sim.outbound import Callee
from agent.sim.result import CallResult

CALLEE_NUMBER = "+15550004444"  # the number called, unless the scenario's `to`
OUR_NUMBER = "+15550002222"  # the graph's number when it lists none
RINGS_S = 0.5  # the callee picks up after this


@dataclass(frozen=True)
class Placed:
    """The answered call: its stream, the loop's and the wall's time when it was placed, and
    the voicemail the graph would leave (rendered with the call's variables)."""

    stream: CallResult
    loop_t0: float
    wall_t0: float
    voicemail: str | None


def our_number(graph: Graph) -> str:
    return graph.numbers[0] if graph.numbers else OUR_NUMBER


async def place_outbound(
    emulator, graph: Graph, scenario: Scenario, audio: dict[str, bytes], base_url: str, admin: str
) -> Placed:
    """Place the scenario's call through POST /calls and wait until it is over."""
    outbound = scenario.outbound
    assert outbound is not None
    person = outbound.answers == "person"
    to = scenario.to or CALLEE_NUMBER
    emulator.callees_by_number[to] = [
        Callee(
            after_s=RINGS_S,
            hello=audio.get(outbound.hello) if person else None,
            hello_text=outbound.hello if person else "",
            voicemail=None if person else audio[outbound.greeting],
            voicemail_text="" if person else outbound.greeting,
            amd=outbound.amd,
            script=tuple(callee_script(scenario, audio)),
            max_duration_s=scenario.max_duration_s,
        )
    ]
    body = {
        "to": to,
        "from": our_number(graph),
        "graph": graph.name,
        "vars": outbound.vars,
        "tag": "graph-test",
    }
    wall_t0, loop_t0 = time.time(), asyncio.get_running_loop().time()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin}"}) as http:
        async with http.post(f"{base_url}/calls", json=body) as response:
            placed = await response.json(content_type=None)
            if response.status != 201:
                raise RuntimeError(f"POST /calls refused the call ({response.status}): {placed}")
    [leg] = [leg for leg in emulator.legs if leg.call_sid == placed["call_sid"]]
    await asyncio.wait_for(leg.done.wait(), scenario.max_duration_s + 30)
    if leg.stream is None:
        raise RuntimeError(f"the call was not answered on a media stream ({leg.status})")
    return Placed(leg.stream, loop_t0, wall_t0, render(graph.call.voicemail, outbound.vars))

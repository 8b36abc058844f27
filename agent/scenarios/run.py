"""One scenario as a real call: the graph served in this process, the cloud providers replaced
by the fakes, Twilio played by the emulator, and the call's record read back.

Every run gets its own provider fakes (one local port) and its own server (create_app on
127.0.0.1, any free port), so concurrent runs never share a scripted LLM reply, a transcript
script or a pinned clock; they share the process's models (one `ProcessCache`: Silero, the
router's encoder, Whisper, Piper), loaded once (`warm_up`).

- What the run serves (its settings, never the shell's; the graph with a recorder tap):
  agent/scenarios/serving.py. The caller's audio and the fakes' scripts:
  agent/scenarios/scripting.py. The caller's script, with a marker before each step:
  agent/scenarios/caller.py.
- `--live` (`Runner(live=...)`, agent/scenarios/live.py): the real providers' keys and URLs
  over the fakes', real speech from Piper for every STT; the fakes' scripts are then unused.
- What happened is read from the call's record (`GET /calls/SID`): turns with their source
  and route, transfers, messages; the emulator's result gives what the caller heard and
  when: latencies, barge-ins, who hung up. Both go into a `RunData` (run_data.py).
- An outbound scenario (`outbound:`) is placed as a real one is, through the server's POST
  /calls: agent/scenarios/outbound.py.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import Mapping

from aiohttp import web

from agent.app.server import SERVICES, create_app
from agent.config import Config
from agent.graph import BuildContext, CallInfo, build_graph
from agent.graph.build import ProcessCache
from agent.graph.hours import FixedWallClock
from agent.graph.loader import load_servable_graphs
from agent.graph.resolved import Graph
from agent.scenarios.caller import MARK, build_script
from agent.scenarios.model import Scenario, TestsFile
from agent.scenarios.outbound import our_number, place_outbound
from agent.scenarios.record import outbound_finished, read_record
from agent.scenarios.run_data import RunData
from agent.scenarios.scripting import CallerVoice, rescript_after_transfer, script_fakes
from agent.scenarios.serving import ACCOUNT_SID, PUBLIC_HOST, aware, fixed_env, for_run
from agent.sim.dial import DialOutcome
from agent.sim.emulator import TwilioEmulator
from agent.sim.fakes import ProviderFakes
from agent.sim.result import CallResult


class Runner:
    """Runs scenarios of one process: the shared model cache, the caller's voice."""

    def __init__(self, graphs_dir: str, live: Mapping[str, str] | None = None) -> None:
        """`live` (`graph test --live`): the real providers' settings (agent/scenarios/live.py),
        used instead of the fakes'; the fakes then play Twilio's REST API only."""
        self.graphs_dir = graphs_dir
        self.live = dict(live) if live is not None else None
        self.cache = ProcessCache()
        self.voice = CallerVoice()

    async def run(self, tests: TestsFile, graph_name: str, scenario: Scenario) -> RunData:
        data = RunData()
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="graph-test-") as tmp:
            try:
                async with ProviderFakes() as fakes:
                    await self._call(fakes, tests, graph_name, scenario, tmp, data)
            except Exception as exc:  # noqa: BLE001 - reported as this run's failure
                data.error = f"{type(exc).__name__}: {exc}"
        data.duration_s = time.monotonic() - started
        return data

    async def warm_up(self, tests: TestsFile, graph_name: str) -> None:
        """Build the graph once into the shared cache before its calls start: loading its
        models blocks the event loop every run shares, and done while calls are live it stalls
        their audio (a caller then hears a gap and talks over the agent). A graph that cannot
        be built is left to its runs to report."""
        with tempfile.TemporaryDirectory(prefix="graph-test-") as tmp:
            env = {**fixed_env(self.graphs_dir, graph_name, tmp), **(self.live or {}), **tests.env}
            try:
                config = Config.load(env=env, dotenv_path=None)
                graphs, _ = load_servable_graphs(
                    config.graphs_dir, config, graph_name, only=[graph_name]
                )
                graph = graphs[graph_name]
                call = CallInfo("CAwarmup", "MZwarmup", None, None, None)
                build_graph(graph, BuildContext(config, graph, call, self.cache))
            except Exception:  # noqa: BLE001, S110 - its runs report it
                pass

    async def _call(self, fakes, tests, graph_name, scenario, tmp, data: RunData) -> None:
        admin = secrets.token_hex(16)
        auth = secrets.token_hex(16)
        env = {
            **fakes.env(),
            **fixed_env(self.graphs_dir, graph_name, tmp, admin, auth),
            **(self.live or {}),
            **tests.env,
            **scenario.env,
        }
        config = Config.load(env=env, dotenv_path=None)
        graphs, _ = load_servable_graphs(config.graphs_dir, config, graph_name, only=[graph_name])
        graph = for_run(graphs[graph_name], scenario)
        graphs[graph_name] = graph
        # No warm-up build per server: the models are in the shared cache (`warm_up`).
        app = create_app(config, graphs=graphs, warm_up=False)
        services = app[SERVICES]
        services.cache = self.cache
        if scenario.at is not None:
            services.wall_clock = FixedWallClock(aware(scenario.at, graph))
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            base_url = f"http://127.0.0.1:{port}"
            emulator = TwilioEmulator(
                base_url,
                auth_token=auth,
                account_sid=ACCOUNT_SID,
                public_base_url=f"https://{PUBLIC_HOST}",
            )
            fakes.twilio.live_calls = emulator
            if scenario.outbound is None:
                await self._place(fakes, emulator, graph, scenario, data)
            else:
                fakes.twilio.outbound = emulator
                audio = await script_fakes(
                    fakes, graph, scenario, self.voice, self.live is not None
                )
                placed = await place_outbound(emulator, graph, scenario, audio, base_url, admin)
                data.wall0, data.voicemail = placed.wall_t0, placed.voicemail
                self._took(data, placed.stream, placed.loop_t0)
            data.hung_up_by_rest = fakes.twilio.hung_up(data.result.call_sid)
            finished = outbound_finished if scenario.outbound is not None else None
            data.record = await read_record(base_url, admin, data.result.call_sid, finished)
        finally:
            await runner.cleanup()

    async def _place(self, fakes, emulator, graph: Graph, scenario: Scenario, data) -> None:
        audio = await script_fakes(fakes, graph, scenario, self.voice, self.live is not None)
        sessions = []
        rescript = asyncio.create_task(rescript_after_transfer(fakes, scenario, sessions))
        loop = asyncio.get_running_loop()
        data.wall0, t0 = time.time(), loop.time()
        try:
            result = await emulator.place_call(
                build_script(scenario, audio),
                query={"graph": graph.name},
                from_=scenario.from_,
                to=scenario.to or our_number(graph),
                max_duration=scenario.max_duration_s,
                dial=[DialOutcome(scenario.dial, talk_s=1.0, after_s=0.5)],
                on_connected=sessions.append,
            )
        finally:
            rescript.cancel()
        self._took(data, result, t0)

    @staticmethod
    def _took(data: RunData, result: CallResult, t0: float) -> None:
        """The call's result, its streams and its step markers; `t0` the loop's time when
        `data.wall0` was read."""
        data.wall0 += result.started_at - t0  # the emulator's t = 0, on the wall clock
        data.result = result
        data.streams = [result, *result.later_streams]
        for event in data.timeline():
            if event[0] == "say_start" and str(event[2]).startswith(MARK):
                data.markers.setdefault(int(event[2][len(MARK) :]), event[1])

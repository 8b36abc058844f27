"""One scenario as a real call: the graph served in this process, the cloud providers replaced
by the fakes, Twilio played by the emulator, and the call's record read back.

Every run gets its own provider fakes (one local port) and its own server (create_app on
127.0.0.1, any free port), so concurrent runs never share a scripted LLM reply, a transcript
script or a pinned clock; they share the process's models (one `ProcessCache`: Silero, the
router's encoder, Whisper, Piper), loaded once.

- The caller's lines: the Deepgram fake "hears" the scenario's lines in order (its audio
  only times them: voice-like audio from agent/sim/fakes/synth.py); a graph whose STT runs
  here (whisper_stt) hears real speech, the lines spoken by Piper (agent/sim/voice.py).
- `--live` (`Runner(live=...)`, agent/scenarios/live.py): the real providers' keys and URLs
  over the fakes', real speech from Piper for every STT; the fakes' scripts are then unused.
- The LLM: the Groq fake answers each line with the step's `reply` (else "You said: LINE.").
- The server's environment is the tests file's and the scenario's `env` over fixed test
  settings (dummy keys, the fakes' URLs, a fresh SQLite file), never the shell's: a run is
  the same on every machine.
- What happened is read from the call's record (`GET /calls/SID`): turns with their source
  and route, transfers, messages. A graph without a `call_recorder` tap gets one for the run
  (a tap sees copies of frames and never delays the call). The emulator's result gives what
  the caller heard and when: latencies, barge-ins, who hung up.
- The caller's script, with a marker before each step: agent/scenarios/caller.py.
- An outbound scenario (`outbound:`) is placed as a real one is, through the server's POST
  /calls: agent/scenarios/outbound.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import secrets
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from agent.app.server import SERVICES, create_app
from agent.config import Config
from agent.graph import BuildContext, CallInfo, build_graph
from agent.graph.build import ProcessCache
from agent.graph.hours import FixedWallClock
from agent.graph.hours_read import read_schedule
from agent.graph.loader import load_servable_graphs
from agent.graph.registry import BUILTIN
from agent.graph.resolved import Graph, Node
from agent.nodes.params import CallRecorderParams
from agent.scenarios.caller import GREETING_STEP, MARK, build_script
from agent.scenarios.model import Scenario, TestsFile
from agent.scenarios.outbound import our_number, place_outbound
from agent.scenarios.record import outbound_finished, read_record
from agent.sim.dial import DialOutcome
from agent.sim.emulator import TwilioEmulator
from agent.sim.fakes import ProviderFakes, ToolCall
from agent.sim.fakes.synth import VoiceParams, lin2ulaw, synth_speech
from agent.sim.result import CallResult
from agent.sim.voice import say_ulaw

PUBLIC_HOST = "switchboard.graph-test.invalid"
ACCOUNT_SID = "AC" + "0" * 32
RECORDER_TAP = "graph_test_recorder"
# The fakes' voice (the caller's lines, the fake TTS): a brisk talker, so runs are short;
# cached phrases play as recorded.
VOICE = VoiceParams(ms_per_char=55.0)
REAL_SPEECH_STT = ("whisper_stt",)  # STT that runs here: the caller must say real words


@dataclass
class RunData:
    """What one run produced, for the expectations (agent/scenarios/check.py)."""

    result: CallResult | None = None
    streams: list[CallResult] = field(default_factory=list)
    record: dict | None = None
    hung_up_by_rest: bool = False
    error: str | None = None  # the call could not be run at all
    voicemail: str | None = None  # outbound: the graph's voicemail with the call's variables
    markers: dict[int, float] = field(default_factory=dict)  # step -> when it began (s)
    wall0: float = 0.0  # wall-clock time at the call's t = 0
    duration_s: float = 0.0

    def timeline(self) -> list[tuple]:
        return sorted((e for r in self.streams for e in r.timeline), key=lambda e: e[1])


class Runner:
    """Runs scenarios of one process: the shared model cache, the caller's voice."""

    def __init__(self, graphs_dir: str, live: Mapping[str, str] | None = None) -> None:
        """`live` (`graph test --live`): the real providers' settings (agent/scenarios/live.py),
        used instead of the fakes'; the fakes then play Twilio's REST API only."""
        self.graphs_dir = graphs_dir
        self.live = dict(live) if live is not None else None
        self.cache = ProcessCache()
        self._piper_lock = asyncio.Lock()

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
            env = {**self._fixed_env(graph_name, tmp), **(self.live or {}), **tests.env}
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

    def _fixed_env(self, graph_name: str, tmp: str, admin: str = "", auth: str = "") -> dict:
        """The run's settings under the fakes' and the scenario's: never the shell's."""
        return {
            "PUBLIC_HOST": PUBLIC_HOST,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": auth or "graph-test",
            "DEEPGRAM_API_KEY": "dg-graph-test",
            "GROQ_API_KEY": "gsk-graph-test",
            "CARTESIA_API_KEY": "sk-cartesia-graph-test",
            "GRAPHS_DIR": self.graphs_dir,
            "DEFAULT_GRAPH": graph_name,
            "DATABASE_URL": f"sqlite:///{tmp}/calls.db",
            "RECORDINGS_DIR": f"{tmp}/recordings",
            "ADMIN_TOKEN": admin,
            "LOG_LEVEL": "WARNING",
        }

    async def _call(self, fakes, tests, graph_name, scenario, tmp, data: RunData) -> None:
        admin = secrets.token_hex(16)
        auth = secrets.token_hex(16)
        env = {
            **fakes.env(),
            **self._fixed_env(graph_name, tmp, admin, auth),
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
            services.wall_clock = FixedWallClock(_aware(scenario.at, graph))
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
                audio = await self._script_fakes(fakes, graph, scenario)
                placed = await place_outbound(emulator, graph, scenario, audio, base_url, admin)
                data.wall0, data.voicemail = placed.wall_t0, placed.voicemail
                self._took(data, placed.stream, placed.loop_t0)
            data.hung_up_by_rest = fakes.twilio.hung_up(data.result.call_sid)
            finished = outbound_finished if scenario.outbound is not None else None
            data.record = await read_record(base_url, admin, data.result.call_sid, finished)
        finally:
            await runner.cleanup()

    async def _script_fakes(self, fakes, graph: Graph, scenario: Scenario) -> dict[str, bytes]:
        """The fakes' scripts for the scenario, and the audio of every line said in it."""
        # Real words for an STT that listens: a local one, or any with --live.
        real = self.live is not None or any(
            n.type.name in REAL_SPEECH_STT for n in graph.nodes.values()
        )
        lines = [step.line for step in scenario.steps if step.line]
        outbound = scenario.outbound
        if outbound is not None and outbound.answers == "voicemail":
            # The greeting, then nothing the beep or the line might be heard as.
            lines = [outbound.greeting, "", "", ""]
        elif outbound is not None and outbound.hello:
            lines = [outbound.hello, *lines]
        audio = {}
        for line in lines:
            if line and line not in audio:
                audio[line] = await self.speech(line, real)
        fakes.deepgram.set_script(lines)
        fakes.cartesia.voice = VOICE
        fakes.groq.replies = [
            (step.line, _reply(step.reply)) for step in scenario.steps if step.reply is not None
        ]
        return audio

    async def _place(self, fakes, emulator, graph: Graph, scenario: Scenario, data) -> None:
        audio = await self._script_fakes(fakes, graph, scenario)
        sessions = []
        rescript = asyncio.create_task(_rescript_after_transfer(fakes, scenario, sessions))
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

    async def speech(self, text: str, real: bool) -> bytes:
        """The caller's line as mu-law: Piper's voice for a local STT, else voice-like audio."""
        if not real:
            return _synth_ulaw(text)
        async with self._piper_lock:  # one Piper at a time; cached per line
            return await asyncio.to_thread(_piper_ulaw, text)


@functools.cache
def _synth_ulaw(text: str) -> bytes:
    return lin2ulaw(synth_speech(text, 8000, VOICE)).tobytes()


@functools.cache
def _piper_ulaw(text: str) -> bytes:
    return say_ulaw(text)  # Piper loads on first use (local graphs only)


def _reply(reply) -> str | ToolCall:
    return reply if isinstance(reply, str) else ToolCall(reply.tool, dict(reply.arguments))


def _aware(at: datetime, graph: Graph) -> datetime:
    if at.tzinfo is not None:
        return at
    zone = graph.hours.timezone if graph.hours is not None else "UTC"
    return at.replace(tzinfo=ZoneInfo(str(zone)))


def for_run(graph: Graph, scenario: Scenario) -> Graph:
    """The graph as this run serves it: with the scenario's hours, and a call_recorder tap
    when it has none (the run reads what happened from the call's record)."""
    changes: dict = {}
    if scenario.hours is not None:
        schedule, problems = read_schedule(
            scenario.hours, graph=graph.name, graph_names=[graph.name]
        )
        if schedule is None:
            raise ValueError(f"the scenario's hours: {problems}")
        changes["hours"] = schedule
    if not any(node.type.name == "call_recorder" for node in graph.tap_nodes()):
        recorder = Node(RECORDER_TAP, BUILTIN.get("call_recorder"), CallRecorderParams())
        changes["taps"] = (*graph.taps, RECORDER_TAP)
        changes["nodes"] = {**graph.nodes, RECORDER_TAP: recorder}
    return dataclasses.replace(graph, **changes) if changes else graph


async def _rescript_after_transfer(fakes, scenario: Scenario, sessions: list) -> None:
    """A transfer that comes back opens a new stream, whose STT connection starts its script
    again: from then on, it hears the lines of the steps after the one that transferred."""
    seen = 0
    while True:
        await asyncio.sleep(0.05)
        updates = len(fakes.twilio.twiml_updates)
        if updates == seen or not sessions:
            continue
        seen = updates
        marks = [e[2] for e in sessions[0].timeline if e[0] == "say_start" and MARK in str(e[2])]
        current = int(marks[-1][len(MARK) :]) if marks else GREETING_STEP
        fakes.deepgram.set_script([st.line for st in scenario.steps[current + 1 :] if st.line])

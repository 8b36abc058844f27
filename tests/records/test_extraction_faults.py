"""A failing or hanging extraction model changes nothing the caller hears: the same call with
extraction working, then hanging (every request, past its timeout), is paced the same; the
failure is recorded on the call, counted, and delivered by the signed, retried webhook."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestServer

from agent.nodes.params import AudioPacerParams
from agent.records import delivery
from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio, custom_graphs

LEAD_S = AudioPacerParams.model_fields["lead_ms"].default / 1000  # the pacer's default

HOURS = "what are your opening hours"
ANSWER = "We're open from nine to five."
SECRET = "webhook-secret-for-tests"


class Receiver:
    """A webhook receiver that fails its first request, then verifies and keeps the rest."""

    def __init__(self):
        self.payloads: list[dict] = []
        self.attempts = 0
        self.bad_signatures = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.read()
        ok = delivery.verify(
            SECRET,
            body,
            request.headers.get("X-Switchboard-Timestamp", ""),
            request.headers.get("X-Switchboard-Signature", ""),
        )
        if not ok:
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.attempts == 1:
            return web.Response(status=503)  # the sender retries
        self.payloads.append(await request.json())
        return web.Response(status=204)


def _script():
    return [
        WaitForAgentAudio(timeout=10),
        WaitForAgentSilence(pause=0.2, timeout=10),
        Say(caller_audio("what_are_your_opening_hours"), HOURS),
        WaitForAgentAudio(timeout=10),
        WaitForAgentSilence(pause=0.2, timeout=10),
        Say(caller_audio("yes"), "yes"),
        WaitForAgentAudio(timeout=10),
        WaitForAgentSilence(pause=0.2, timeout=10),
        HangUp(),
    ]


def _timing(result) -> list[tuple[float, float]]:
    """Each agent speech segment: (start after the caller's last words, duration)."""
    says = [e[1] for e in result.timeline if e[0] == "say_end"]
    timing = []
    for start, end in result.agent_speech_segments:
        before = [t for t in says if t < start]
        timing.append((start - (before[-1] if before else 0.0), end - start))
    return timing


async def test_extraction_failing_or_hanging_leaves_audio_timing_alone(
    fakes, start_server, tmp_path
):
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    hook_server = TestServer(app, host="127.0.0.1")
    await hook_server.start_server()
    graphs = custom_graphs(
        tmp_path, nodes={"extraction": {"type": "lead_extraction", "timeout_s": 1.5, "retries": 1}}
    )
    server = await start_server(
        GRAPHS_DIR=graphs,
        CALL_WEBHOOK_URL=str(hook_server.make_url("/hook")),
        CALL_WEBHOOK_SECRET=SECRET,
    )
    try:
        fakes.deepgram.set_script([HOURS, "yes"])
        fakes.groq.replies = [("hours", ANSWER), ("yes", "Great.")]
        fakes.groq.extractions = [("hours", {"intent": "opening hours"})]
        # The hanging call first: its first answer also pays the process's first LLM request
        # (not compared); the first extraction starts when that answer ends, so it hangs
        # while the caller speaks again and the second answer plays.
        fakes.groq.extraction_fault = "hang"  # every extraction request, until it times out
        faulty = await server.emulator().place_call(_script(), max_duration=40)
        fakes.groq.extraction_fault = None
        baseline = await server.emulator().place_call(_script(), max_duration=40)
        for result in (baseline, faulty):
            assert not result.timeouts, result.timeouts
            assert result.underruns == [], result.underruns
            assert result.max_buffer_s < LEAD_S + 0.1  # Twilio held no more than the lead
        base, fault = _timing(baseline), _timing(faulty)
        assert len(base) == len(fault) == 3, (base, fault)  # greeting, two answers
        assert abs(fault[0][1] - base[0][1]) < 0.05, (base, fault)  # the greeting
        (b_start, b_len), (f_start, f_len) = base[2], fault[2]  # the answer during the hang
        assert abs(f_start - b_start) < 0.2, (base, fault)
        assert abs(f_len - b_len) < 0.05, (base, fault)
        # it really was asked, and hung, during the call
        assert fakes.groq.faults_served.count("extraction:hang") >= 2

        async def delivered():
            return len(receiver.payloads) == 2

        for _ in range(200):
            if await delivered():
                break
            await asyncio.sleep(0.05)
        assert await delivered(), (receiver.attempts, receiver.payloads)
    finally:
        await hook_server.close()
    assert receiver.bad_signatures == 0
    by_sid = {p["call_sid"]: p for p in receiver.payloads}
    good, bad = by_sid[baseline.call_sid], by_sid[faulty.call_sid]
    assert good["event"] == "call.completed" and good["extraction"]["intent"] == "opening hours"
    assert good["extraction_error"] is None
    assert bad["extraction"] is None
    assert "no answer within 1.5s" in bad["extraction_error"]
    assert [e["attempts"] for e in bad["extractions"]] == [2] * len(bad["extractions"])
    assert [t["text"] for t in bad["turns"] if t["role"] == "caller"] == [HOURS, "yes"]
    metrics = server.services.metrics
    assert metrics.value("switchboard_extractions_total", result="failed") >= 1
    assert metrics.value("switchboard_call_webhooks_total", result="retried") == 1
    assert metrics.value("switchboard_call_webhooks_total", result="ok") == 2

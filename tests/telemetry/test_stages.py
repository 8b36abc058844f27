"""StageCollector and TracedLink: what each input records, and which turn it goes to."""

from __future__ import annotations

from pipecat.frames.frames import BotStartedSpeakingFrame, VADUserStoppedSpeakingFrame

from agent.telemetry.stages import StageCollector, TracedLink, TurnStages


class Clock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class Link:
    def __init__(self):
        self.sent: list[bytes] = []

    def send_audio(self, pcm, at, due, on_lateness) -> bool:
        self.sent.append(pcm)
        return True

    def send_mark(self, name: str) -> bool:
        return True

    def drop_scheduled(self) -> int:
        return 3

    async def clear(self) -> bool:
        return True

    def subscribe(self, subscriber) -> None:
        self.subscriber = subscriber


def test_one_turns_stages_in_order():
    clock = Clock()
    stages = StageCollector(clock)
    stages.llm_system = "groq"
    link = TracedLink(Link(), stages)
    stages.on_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=100.0))
    clock.t = 100.3
    stages.transcript()
    clock.t = 100.31
    stages.llm_request("m")
    clock.t = 100.5
    stages.llm_first_token()
    clock.t = 100.6
    stages.llm_first_token()  # every chunk: the first one counts
    stages.tts_request()
    clock.t = 100.7
    stages.tts_request()
    link.send_audio(b"a", 0, 0, None)
    clock.t = 100.72
    link.send_audio(b"b", 0, 0, None)
    stages.llm_usage(10, 5, "m-full")
    clock.t = 100.8
    stages.llm_done(None)
    stages.on_frame(BotStartedSpeakingFrame())
    clock.t = 101.0
    stages.on_frame(BotStartedSpeakingFrame())
    done = stages.take()
    assert (done.speech_stopped, done.vad_decided, done.transcript_at) == (99.8, 100.0, 100.3)
    [request] = done.llm
    assert (request.start, request.first_token, request.end) == (100.31, 100.5, 100.8)
    assert (request.model, request.response_model, request.system) == ("m", "m-full", "groq")
    assert (request.input_tokens, request.output_tokens, request.error) == (10, 5, None)
    assert (done.tts_requested, done.first_audio_sent, done.heard) == (100.6, 100.7, 100.8)
    assert stages.current == TurnStages()
    link.send_audio(b"c", 0, 0, None)  # the next turn's first audio
    assert stages.current.first_audio_sent == 101.0


def test_the_caller_speaking_before_the_agents_turn_ends_starts_the_next_turn():
    clock = Clock()
    stages = StageCollector(clock)
    stages.on_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=100.0))
    stages.on_frame(BotStartedSpeakingFrame())  # heard
    stages.on_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=103.0))  # barge-in
    first = stages.take()
    assert first.vad_decided == 100.0
    assert stages.current.vad_decided == 103.0
    assert stages.take().vad_decided == 103.0
    assert stages.current == TurnStages()


def test_a_vad_stop_decided_after_a_fast_route_is_still_the_turns_own():
    clock = Clock(100.3)
    stages = StageCollector(clock)
    stages.transcript()
    stages.routed("pricing")
    stages.on_frame(BotStartedSpeakingFrame())  # heard at 100.3
    stages.on_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=100.4))  # ended 100.2
    assert stages.take().speech_stopped == 100.2


def test_a_transcript_after_the_agent_answered_stays_out_of_the_answered_turn():
    """The router answers on the final transcript; the user aggregator may close the same
    turn a moment later. That second event must not move the turn's transcript time past
    its answer (the stt span would end after the caller heard the agent)."""
    clock = Clock()
    stages = StageCollector(clock)
    stages.on_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=100.0))
    clock.t = 100.01
    stages.transcript()
    stages.routed("pricing")
    clock.t = 100.02
    stages.on_frame(BotStartedSpeakingFrame())
    clock.t = 100.4
    stages.transcript()  # the aggregator's own end of the routed turn
    assert stages.current.transcript_at == 100.01
    stages.on_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=101.0))  # barge-in
    clock.t = 101.3
    stages.transcript()  # ...its words: the next turn's
    assert stages.take().transcript_at == 100.01
    assert stages.current.transcript_at == 101.3


def test_a_retry_is_a_second_request_and_nothing_lands_on_a_closed_one():
    clock = Clock()
    stages = StageCollector(clock)
    stages.llm_request("m")
    stages.llm_done("timeout")
    stages.llm_first_token()  # no request open: ignored
    stages.llm_usage(1, 1, None)
    stages.llm_request("fallback")
    stages.llm_done(None)
    first, second = stages.take().llm
    assert (first.error, first.first_token, first.input_tokens) == ("timeout", None, None)
    assert (second.model, second.error) == ("fallback", None)


async def test_the_link_passes_everything_through():
    inner = Link()
    link = TracedLink(inner, StageCollector(Clock()))
    assert link.send_mark("m1") and link.drop_scheduled() == 3 and await link.clear()
    link.subscribe("pacer")
    assert inner.subscriber == "pacer"
    assert link.send_audio(b"x", 0, 0, None) and inner.sent == [b"x"]

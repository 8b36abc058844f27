"""TurnLatency: caller silence → agent speech, as pipecat's UserBotLatencyObserver measures it."""

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)

from agent.app.pipeline import TurnLatency


def test_one_measurement_per_turn_from_the_callers_silence():
    seen: list[float] = []
    now = [100.0]
    latency = TurnLatency(seen.append, now=lambda: now[0])

    latency.on_frame(BotStartedSpeakingFrame())  # the greeting: no turn yet
    latency.on_frame(VADUserStartedSpeakingFrame())
    latency.on_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=101.0))
    now[0] = 101.7
    latency.on_frame(BotStartedSpeakingFrame())
    now[0] = 105.0
    latency.on_frame(BotStartedSpeakingFrame())  # a second utterance: same turn, not counted
    assert [round(s, 3) for s in seen] == [0.9]


def test_caller_speaking_again_starts_the_turn_over():
    seen: list[float] = []
    latency = TurnLatency(seen.append, now=lambda: 110.0)
    latency.on_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=101.0))
    latency.on_frame(VADUserStartedSpeakingFrame())
    latency.on_frame(BotStartedSpeakingFrame())
    assert seen == []

"""agent/adapters/segment_turns.py and the Whisper node's SegmentTranscribedFrame: a caller's turn
ends when the STT has transcribed its last utterance, however slow that is, and no later.

The turn strategies run inside pipecat's real user aggregator; the frames are what the VAD
and a segmented STT send it. The scene: the caller says "Wait," pauses long enough for the
VAD to stop, goes on "where is your office?", and Whisper (on a loaded machine) takes a
second over the second utterance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pipecat.frames.frames import (
    DataFrame,
    InputAudioRawFrame,
    LLMContextFrame,
    STTMetadataFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import (
    UserTurnStrategies,
    default_user_turn_start_strategies,
)

from agent.graph.build import ProcessCache
from agent.nodes.conversation import turn_strategies
from processors.frames import SegmentTranscribedFrame

STOP_SECS = 0.3
# pipecat's default STT p99 (what Whisper reported before): its net runs out 0.7 s after a stop.
PIPECAT_DEFAULT_TTFS = 1.0


@dataclass
class EndOfScene(DataFrame):
    """Sent after the scene's last frame: a turn the stream's end flushes does not count."""


class TurnRecorder(FrameProcessor):
    """The caller's words in each context sent on, as they stood then (the context mutates)."""

    def __init__(self):
        super().__init__()
        self.turns: list[str] = []
        self.scene_over = False

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        self.scene_over = self.scene_over or isinstance(frame, EndOfScene)
        if isinstance(frame, LLMContextFrame) and not self.scene_over:
            messages = frame.context.get_messages()
            self.turns.append(" ".join(m["content"] for m in messages if m["role"] == "user"))
        await self.push_frame(frame, direction)


def ours():
    return turn_strategies(0.4, service_decides_turns=False, segmented_stt=True)


def pipecats_own():
    return UserTurnStrategies(
        start=default_user_turn_start_strategies(),
        stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0.4)],
    )


def said(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text, "caller", "now", finalized=True)


def start():
    return VADUserStartedSpeakingFrame(start_secs=0.2)


def stop():
    return VADUserStoppedSpeakingFrame(stop_secs=STOP_SECS)


def utterance(seconds: float) -> list:
    """The VAD hears the caller for `seconds`."""
    return [start(), SleepFrame(seconds), stop()]


def transcribed(segment: int, text: str | None = None) -> list:
    """The STT is done with utterance `segment`: its words (if any), then the marker."""
    return [*([said(text)] if text else []), SegmentTranscribedFrame(segment=segment)]


async def turns_sent(strategies, frames, ttfs=PIPECAT_DEFAULT_TTFS) -> list[str]:
    """The caller's words so far at every context the aggregator sent on (one per turn)."""
    pair = LLMContextAggregatorPair(
        LLMContext(), user_params=LLMUserAggregatorParams(user_turn_strategies=strategies)
    )
    recorder = TurnRecorder()
    await run_test(
        Pipeline([pair.user(), recorder]),
        frames_to_send=[
            STTMetadataFrame(service_name="stt", ttfs_p99_latency=ttfs),
            *frames,
            EndOfScene(),
        ],
    )
    return recorder.turns


SLOW_LAST_UTTERANCE = [
    *utterance(0.3),
    *transcribed(1, "Wait."),
    SleepFrame(0.1),  # the caller goes on within the 0.4 s speech timeout
    *utterance(0.5),
    SleepFrame(1.0),  # Whisper is slow: longer than pipecat's 0.7 s net
    *transcribed(2, "Where is your office?"),
    SleepFrame(0.6),
]


async def test_a_slow_transcript_of_the_last_utterance_stays_in_the_turn():
    assert await turns_sent(ours(), SLOW_LAST_UTTERANCE, ttfs=5.0) == [
        "Wait. Where is your office?"
    ]


async def test_control_pipecats_strategy_alone_answers_the_first_words():
    # The failure this fixes: the turn ends on "Wait." and the late words make a second turn.
    turns = await turns_sent(pipecats_own(), SLOW_LAST_UTTERANCE)
    assert turns == ["Wait.", "Wait. Where is your office?"]


async def test_an_earlier_utterance_done_late_does_not_end_the_turn():
    # Whisper finishes utterance 1 after the VAD's second stop: still waiting for utterance 2.
    frames = [
        *utterance(0.3),
        SleepFrame(0.1),
        *utterance(0.3),
        *transcribed(1, "Wait."),
        SleepFrame(0.9),  # past the 0.4 s speech timeout
        *transcribed(2, "Where is your office?"),
        SleepFrame(0.6),
    ]
    assert await turns_sent(ours(), frames, ttfs=5.0) == ["Wait. Where is your office?"]
    # Control: pipecat's strategy takes the earlier utterance's final words as the end.
    assert (await turns_sent(pipecats_own(), frames, ttfs=5.0))[0] == "Wait."


async def test_an_utterance_without_words_ends_the_turn_without_waiting_for_the_net():
    frames = [
        *utterance(0.3),
        *transcribed(1, "What are your hours?"),
        SleepFrame(0.1),
        *utterance(0.2),  # a cough
        SleepFrame(0.1),
        *transcribed(2),  # Whisper heard no words
        SleepFrame(1.0),  # far less than the 5 s net
    ]
    assert await turns_sent(ours(), frames, ttfs=5.0) == ["What are your hours?"]
    # Control: without the marker the turn would wait out the net.
    assert await turns_sent(pipecats_own(), frames, ttfs=5.0) == []


async def test_whisper_says_when_each_utterance_is_done_words_or_none():
    from pipecat.pipeline.task import PipelineParams

    from agent.audio import ulaw_to_pcm16
    from agent.sim.voice import say_ulaw
    from tests.nodes.test_local_nodes import build, local_graph

    config, graph = local_graph()
    [stt] = build(config, graph, ProcessCache()).nodes["stt"].processors
    assert stt._ttfs_p99_latency == 5.0  # the graph's transcript_timeout_s default

    def audio(pcm: bytes):
        return [
            InputAudioRawFrame(pcm[i : i + 320], sample_rate=8000, num_channels=1)
            for i in range(0, len(pcm), 320)
        ]

    silence = bytes(np.zeros(8000, dtype=np.int16).tobytes())
    speech = ulaw_to_pcm16(say_ulaw("Where is your office?"))
    frames = [start(), *audio(silence), stop(), start(), *audio(speech), stop(), SleepFrame(3)]
    down, _ = await run_test(
        stt, frames_to_send=frames, pipeline_params=PipelineParams(audio_in_sample_rate=8000)
    )
    out = [f for f in down if isinstance(f, (TranscriptionFrame, SegmentTranscribedFrame))]
    assert [type(f) for f in out] == [
        SegmentTranscribedFrame,
        TranscriptionFrame,
        SegmentTranscribedFrame,
    ]
    assert [out[0].segment, out[2].segment] == [1, 2]
    assert "office" in out[1].text.lower()


async def test_words_after_the_net_ran_out_make_a_turn_that_ends_when_they_are_done():
    # Issue 20: the first question of a local call went unanswered. Whisper's first run in a
    # process is slow; its words came after the net (transcript_timeout_s) had ended the turn
    # empty. They start a new turn, whose interruption dropped the SegmentTranscribedFrame
    # queued right behind them, so that turn waited for pipecat's 5 s stop timeout.
    frames = [
        *utterance(0.5),
        SleepFrame(1.0),  # the 0.5 s net runs out: the turn ends with no words
        *transcribed(1, "What are your prices for home internet?"),
        SleepFrame(1.5),  # far less than the user turn stop timeout (5 s)
    ]
    assert await turns_sent(ours(), frames, ttfs=0.5) == ["What are your prices for home internet?"]

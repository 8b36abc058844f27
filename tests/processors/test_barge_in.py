"""processors/barge_in.py: over the agent, an acknowledgement neither interrupts nor makes a
turn; other words (or long speech with none yet) interrupt. Run inside pipecat's real user
aggregator, with the frames the VAD, the STT and the pacer send it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    DataFrame,
    InterruptionFrame,
    LLMContextFrame,
    STTMetadataFrame,
    UserBackchannelFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.tests.utils import SleepFrame, run_test

from agent.graph.model import BargeInSettings
from agent.nodes.conversation import turn_strategies
from processors.barge_in import DEFAULT_ACKNOWLEDGEMENTS, Acknowledgements, words_of
from tests.caller_frames import final, interim, start, stop


@dataclass
class EndOfScene(DataFrame):
    """After the scene: a turn the stream's end flushes does not count."""


class Seen(FrameProcessor):
    def __init__(self):
        super().__init__()
        self.turns: list[str] = []
        self.backchannels: list[str] = []
        self.interruptions = 0
        self.over = False

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        self.over = self.over or isinstance(frame, EndOfScene)
        if isinstance(frame, LLMContextFrame) and not self.over:
            messages = frame.context.get_messages()
            self.turns.append(" | ".join(m["content"] for m in messages if m["role"] == "user"))
        elif isinstance(frame, UserBackchannelFrame):
            self.backchannels.append(frame.text)
        elif isinstance(frame, InterruptionFrame) and not self.over:
            self.interruptions += 1
        await self.push_frame(frame, direction)


async def scene(frames, *, min_words: int = 1, barge_in: BargeInSettings | None = None) -> Seen:
    strategies = turn_strategies(0.3, False, min_words, barge_in=barge_in)
    pair = LLMContextAggregatorPair(
        LLMContext(), user_params=LLMUserAggregatorParams(user_turn_strategies=strategies)
    )
    seen = Seen()
    await run_test(
        Pipeline([pair.user(), seen]),
        frames_to_send=[
            STTMetadataFrame(service_name="stt", ttfs_p99_latency=0.5),
            *frames,
            SleepFrame(0.8),
            EndOfScene(),
        ],
    )
    return seen


def over_agent(*words_frames, seconds: float = 0.3) -> list:
    """The agent is speaking; the caller speaks (VAD) and the STT sends `words_frames`, apart
    in time as a real STT's are (an interruption drops frames still queued behind it)."""
    spaced = [f for frame in words_frames for f in (frame, SleepFrame(0.05))]
    return [BotStartedSpeakingFrame(), start(), *spaced, SleepFrame(seconds), stop()]


def test_acknowledgement_words():
    acks = Acknowledgements(DEFAULT_ACKNOWLEDGEMENTS)
    assert words_of("Mm-hmm.") == ("mm", "hmm") == words_of("mm hmm")
    for text in ("Mm-hmm.", "Okay.", "Uh-huh, okay.", "I see.", "Right, right.", "Yeah"):
        assert acks.covers(words_of(text)), text
    for text in ("Wait.", "No, I meant the business plan", "Okay, which one?", "I"):
        assert not acks.covers(words_of(text)), text
    assert acks.covers(words_of("I"), partial_tail=True)  # may still become "I see"
    assert acks.covers(words_of("okay got"), partial_tail=True)
    assert not acks.covers(words_of("I want"), partial_tail=True)


async def test_an_acknowledgement_over_the_agent_is_no_turn_and_no_interruption():
    seen = await scene(over_agent(interim("Mm-hmm."), final("Mm-hmm.")))
    assert (seen.interruptions, seen.turns, seen.backchannels) == (0, [], ["Mm-hmm."])


async def test_words_that_may_grow_into_an_acknowledgement_are_waited_on():
    seen = await scene(over_agent(interim("I"), final("I see.")))
    assert (seen.interruptions, seen.turns, seen.backchannels) == (0, [], ["I see."])


async def test_a_question_over_the_agent_interrupts_at_its_first_real_word():
    seen = await scene(over_agent(interim("Wait"), final("Wait, which one is cheapest?")))
    assert seen.interruptions == 1 and seen.backchannels == []
    assert seen.turns == ["Wait, which one is cheapest?"]
    seen = await scene(over_agent(interim("Okay"), interim("Okay which"), final("Okay, which?")))
    assert seen.interruptions == 1 and seen.turns == ["Okay, which?"]


async def test_an_acknowledgement_after_the_agent_finished_is_a_turn():
    frames = [BotStartedSpeakingFrame(), BotStoppedSpeakingFrame(), start(), final("Okay.")]
    seen = await scene([*frames, SleepFrame(0.2), stop()])
    assert seen.turns == ["Okay."] and seen.backchannels == []


async def test_an_acknowledgement_begun_over_the_agent_stays_one_when_it_ends_after():
    frames = [BotStartedSpeakingFrame(), start(), interim("Okay"), BotStoppedSpeakingFrame()]
    seen = await scene([*frames, SleepFrame(0.2), stop(), final("Okay.")])
    assert (seen.interruptions, seen.turns, seen.backchannels) == (0, [], ["Okay."])


async def test_long_speech_with_no_words_yet_interrupts():
    # Whisper: no interim words; the caller has talked over the agent for max_acknowledgement_s
    settings = BargeInSettings(max_acknowledgement_s=0.3)
    seen = await scene(over_agent(seconds=0.6), barge_in=settings)
    assert seen.interruptions == 1
    short = await scene(over_agent(seconds=0.05), barge_in=settings)
    assert short.interruptions == 0


async def test_min_interruption_words_as_the_seed_counts_them():
    wait = await scene(over_agent(interim("Wait"), final("Wait.")), min_words=3)
    assert wait.interruptions == 0 and wait.turns == []
    three = await scene(over_agent(interim("Wait which"), interim("Wait which one")), min_words=3)
    assert three.interruptions == 1


async def test_a_graph_tunes_the_list_and_the_rule():
    mine = BargeInSettings(acknowledgements=["gotcha"])
    seen = await scene(over_agent(interim("Gotcha"), final("Gotcha.")), barge_in=mine)
    assert seen.backchannels == ["Gotcha."]
    seen = await scene(over_agent(interim("Okay"), final("Okay.")), barge_in=mine)
    assert seen.interruptions == 1  # "okay" is no longer on the list
    any_speech = await scene(over_agent(), barge_in=BargeInSettings(rule="any_speech"))
    assert any_speech.interruptions == 1


def test_graph_settings_are_validated():
    with pytest.raises(ValueError, match="acknowledgements must have words"):
        BargeInSettings(acknowledgements=["okay", "..."])
    with pytest.raises(ValueError):
        BargeInSettings(rule="sometimes")

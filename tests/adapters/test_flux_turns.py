"""agent/adapters/flux_turns.py ListeningFluxTurnStop, inside pipecat's real user aggregator and
an LLMService (so its SpeculationGate), on a fake clock: a turn Flux ends on unfinished words
is held up to the unfinished wait, the caller's next words make the halves one turn, nothing
more ends it with what was said; a complete turn ends at once; an EagerEndOfTurn on
unfinished words starts no speculation.

The frames are what pipecat's Deepgram Flux service pushes: StartOfTurn a
ProposedUserStartedSpeakingFrame, Update an InterimTranscriptionFrame, EndOfTurn a
TranscriptionFrame then a ProposedUserStoppedSpeakingFrame, EagerEndOfTurn an
EagerTranscriptionFrame, TurnResumed an EagerEndOfTurnCancelFrame.
"""

from __future__ import annotations

from pipecat.frames.frames import (
    EagerEndOfTurnCancelFrame,
    EagerTranscriptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    ProposedUserStartedSpeakingFrame,
    ProposedUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.services.llm_service import LLMService
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies, UserTurnStrategies

from agent.adapters.flux_turns import ListeningFluxTurnStop
from processors.clock import FakeClock
from processors.turn_end import SpeculationStats
from tests.caller_frames import Heard, final, interim
from tests.processors.clocked import run_steps

WAIT_S = 1.2  # the groq_llm node's unfinished_turn_wait_s


class AnswerLLM(LLMService):
    """Answers each context with 'answer: <the caller's last words>' at once."""

    def __init__(self):
        super().__init__()
        self.requests: list[tuple[str, bool]] = []  # (words, speculative)

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            words = frame.context.get_messages()[-1]["content"]
            self.requests.append((words, frame.speculation))
            await self.push_frame(LLMFullResponseStartFrame())
            await self.push_frame(LLMTextFrame(f"answer: {words}"))
            await self.push_frame(LLMFullResponseEndFrame())
        else:
            await self.push_frame(frame, direction)


class Scene:
    def __init__(self, unfinished_s: float = WAIT_S):
        self.clock = FakeClock()
        self.stats = SpeculationStats()
        self.stop = ListeningFluxTurnStop(
            unfinished_s=unfinished_s, clock=self.clock, stats=self.stats
        )
        self.context = LLMContext()
        strategies = UserTurnStrategies(
            start=ExternalUserTurnStrategies(enable_interruptions=True).start, stop=[self.stop]
        )
        self.pair = LLMContextAggregatorPair(
            self.context, user_params=LLMUserAggregatorParams(user_turn_strategies=strategies)
        )
        self.llm, self.heard = AnswerLLM(), Heard()
        self.marks: dict[str, tuple] = {}  # what was asked and heard at each mark

    def mark(self, name: str):
        async def note(_target):
            self.marks[name] = (list(self.llm.requests), list(self.heard.texts))

        return note

    async def run(self, steps: list):
        await run_steps(self.clock, [self.pair.user(), self.llm, self.heard], steps)
        return self

    @property
    def users(self) -> list[str]:
        return [m["content"] for m in self.context.get_messages() if m["role"] == "user"]


def turn_start():
    return ProposedUserStartedSpeakingFrame()


def end_of_turn(text: str) -> list:
    return [final(text), ProposedUserStoppedSpeakingFrame()]


def eager(text: str):
    return EagerTranscriptionFrame(text, "caller", "now")


async def test_the_caller_who_resumes_within_the_wait_gets_one_answer_to_the_whole_sentence():
    scene = Scene()
    await scene.run(
        [
            turn_start(),
            interim("I'm calling"),
            *end_of_turn("I'm calling about"),
            1.0,
            scene.mark("paused"),
            turn_start(),
            interim("my bill"),
            *end_of_turn("my bill from March."),
            scene.mark("second half"),
            WAIT_S,
        ]
    )
    assert scene.marks["paused"] == ([], [])
    whole = "I'm calling about my bill from March."
    # answered as soon as Flux ended the second half (complete words: no wait)
    assert scene.marks["second half"] == ([(whole, False)], [f"answer: {whole}"])
    assert scene.users == [whole]  # one context message with the whole sentence
    assert scene.llm.requests == [(whole, False)] and scene.heard.texts == [f"answer: {whole}"]
    assert scene.stop.holds == 1 and not scene.stop.holding


async def test_nothing_more_within_the_wait_ends_the_turn_with_what_was_said():
    scene = Scene()
    await scene.run(
        [
            turn_start(),
            *end_of_turn("I'm calling about"),
            WAIT_S - 0.01,
            scene.mark("just before"),
            0.02,
            scene.mark("after the wait"),
        ]
    )
    assert scene.marks["just before"] == ([], [])
    assert scene.marks["after the wait"][0] == [("I'm calling about", False)]
    assert scene.users == ["I'm calling about"]
    assert scene.heard.texts == ["answer: I'm calling about"]


async def test_a_complete_turn_is_answered_at_once():
    scene = Scene()
    await scene.run(
        [
            turn_start(),
            interim("what are your"),
            *end_of_turn("What are your opening hours?"),
            scene.mark("ended"),
        ]
    )
    asked = [("What are your opening hours?", False)]
    assert scene.marks["ended"] == (asked, ["answer: What are your opening hours?"])
    assert scene.stop.holds == 0


async def test_the_wait_is_the_setting():
    scene = Scene(unfinished_s=0.5)
    await scene.run(
        [
            turn_start(),
            *end_of_turn("my number is 555 01"),  # half a phone number
            0.49,
            scene.mark("before"),
            0.02,
            scene.mark("after"),
        ]
    )
    assert scene.marks["before"] == ([], [])
    assert scene.marks["after"][0] == [("my number is 555 01", False)]

    never = Scene(unfinished_s=0)  # 0: no hold, as before
    await never.run([turn_start(), *end_of_turn("I'm calling about"), never.mark("ended")])
    assert never.marks["ended"][0] == [("I'm calling about", False)]


async def test_no_speculation_on_unfinished_words_and_one_on_the_whole_sentence():
    scene = Scene()
    whole = "I'm calling about my bill from March."
    await scene.run(
        [
            turn_start(),
            interim("I'm calling"),
            eager("I'm calling about"),  # Flux predicts the end of an unfinished turn
            0.1,
            *end_of_turn("I'm calling about"),
            scene.mark("held"),
            1.0,
            turn_start(),
            interim("my bill"),
            eager("my bill from March"),
            scene.mark("eager"),
            0.1,
            *end_of_turn("my bill from March."),
            WAIT_S,
        ]
    )
    assert scene.marks["held"] == ([], [])  # no speculative request on "I'm calling about"
    # the speculation on the whole sentence, with its halves' space, used by the end of turn
    assert scene.marks["eager"] == ([("I'm calling about my bill from March", True)], [])
    assert scene.llm.requests == [("I'm calling about my bill from March", True)]
    assert scene.heard.texts == ["answer: I'm calling about my bill from March"]
    assert scene.users == [whole]
    assert (scene.stats.started, scene.stats.confirmed, scene.stats.wasted_total) == (1, 1, 0)


async def test_a_turn_resumed_after_an_unfinished_prediction_finds_nothing_to_withdraw():
    scene = Scene()
    await scene.run(
        [
            turn_start(),
            eager("so I was wondering if"),  # "if": unfinished
            0.1,
            EagerEndOfTurnCancelFrame(),  # Flux's TurnResumed: the caller went on
            interim("so I was wondering if you're open"),
            eager("so I was wondering if you're open today"),
            0.1,
            *end_of_turn("So I was wondering if you're open today."),
        ]
    )
    assert scene.llm.requests == [("so I was wondering if you're open today", True)]
    assert scene.users == ["So I was wondering if you're open today."]
    assert (scene.stats.started, scene.stats.confirmed, scene.stats.wasted_total) == (1, 1, 0)


async def test_pipecats_transcript_timer_does_not_end_a_held_turn():
    # Real time, pipecat's run_test: the external stop's transcript timer asks to end the turn
    # every 0.5 s while its words are final and the caller silent; a held turn stays open.
    stop = ListeningFluxTurnStop(unfinished_s=WAIT_S)
    context = LLMContext()
    strategies = UserTurnStrategies(
        start=ExternalUserTurnStrategies(enable_interruptions=True).start, stop=[stop]
    )
    pair = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(user_turn_strategies=strategies)
    )
    llm, heard = AnswerLLM(), Heard()
    await run_test(
        Pipeline([pair.user(), llm, heard]),
        frames_to_send=[
            turn_start(),
            *end_of_turn("I'm calling about"),
            SleepFrame(0.9),  # past the timer's 0.5 s, short of the 1.2 s hold
            turn_start(),
            *end_of_turn("my bill from March."),
            SleepFrame(0.2),
        ],
    )
    whole = "I'm calling about my bill from March."
    assert [m["content"] for m in context.get_messages() if m["role"] == "user"] == [whole]
    assert llm.requests == [(whole, False)] and heard.texts == [f"answer: {whole}"]

"""agent/adapters/listening_turns.py ListeningTurnStop, inside pipecat's real user aggregator and an
LLMService (so its SpeculationGate): the wait follows the words; a speculative answer is
spoken only once the turn is confirmed with the same words, and otherwise is cancelled,
its tokens never leave the service and the context never holds it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pipecat.frames.frames import (
    DataFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    STTMetadataFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.services.llm_service import LLMService
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy

from agent.adapters.listening_turns import ListeningTurnStop
from agent.nodes.conversation import ListeningTurn, turn_strategies
from processors.turn_end import SpeculationStats, TurnEndTiming
from tests.adapters.contract import assert_callable, assert_has_attrs
from tests.caller_frames import Heard, final, interim, start, stop

TIMING = TurnEndTiming(complete_s=0.05, open_s=0.3, unfinished_s=0.9)
ANSWER_DELAY_S = 0.1  # the fake LLM's first token


@dataclass
class EndOfScene(DataFrame):
    pass


class EchoLLM(LLMService):
    """Answers each context with 'answer: <the caller's last words>' after ANSWER_DELAY_S."""

    def __init__(self):
        super().__init__()
        self.requests: list[tuple[str, bool]] = []  # (words, speculative)
        self.cancelled = 0

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            words = frame.context.get_messages()[-1]["content"]
            self.requests.append((words, frame.speculation))
            try:
                await self.push_frame(LLMFullResponseStartFrame())
                await asyncio.sleep(ANSWER_DELAY_S)
                await self.push_frame(LLMTextFrame(f"answer: {words}"))
                await self.push_frame(LLMFullResponseEndFrame())
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        else:
            await self.push_frame(frame, direction)


async def scene(frames, *, speculate=True, ttfs=1.0):
    stats = SpeculationStats()
    strategies = turn_strategies(
        TIMING.open_s,
        False,
        listening=ListeningTurn(timing=TIMING, speculate=speculate),
        stats=stats,
    )
    context = LLMContext()
    pair = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(user_turn_strategies=strategies)
    )
    llm, heard = EchoLLM(), Heard()
    await run_test(
        Pipeline([pair.user(), llm, heard]),
        frames_to_send=[
            STTMetadataFrame(service_name="stt", ttfs_p99_latency=ttfs),
            *frames,
            SleepFrame(1.2),
            EndOfScene(),
        ],
    )
    users = [m["content"] for m in context.get_messages() if m["role"] == "user"]
    return llm, heard, users, stats


def test_speech_timeout_internals_it_uses():
    base = SpeechTimeoutUserTurnStopStrategy
    assert_callable(base, "_handle_vad_user_started_speaking", ["self", "_"], is_async=True)
    assert_callable(base, "_handle_vad_user_stopped_speaking", ["self", "frame"], is_async=True)
    assert_callable(base, "_handle_transcription", ["self", "frame"], is_async=True)
    assert_callable(base, "_restart_user_speech_timer", ["self"], is_async=True)
    assert_callable(base, "_reset", ["self", "clear_vad_user_speaking"], is_async=True)
    assert_has_attrs(
        ListeningTurnStop(timing=TIMING, speculate=True),
        "_vad_stopped",
        "_vad_user_speaking",
        "_user_speech_timeout",
        "_user_speech_wait_done",
    )


async def test_a_speculation_the_final_confirms_is_the_answer_said_once():
    llm, heard, users, stats = await scene(
        [
            start(),
            interim("book it for tomorrow"),
            SleepFrame(0.05),
            stop(),
            SleepFrame(0.15),
            final("Book it for tomorrow."),
        ]
    )
    assert llm.requests == [("book it for tomorrow", True)]  # one request, at the VAD's stop
    assert heard.texts == ["answer: book it for tomorrow"]
    assert users == ["Book it for tomorrow."]  # the confirmed words, never the speculated
    assert (stats.started, stats.confirmed, stats.wasted_total) == (1, 1, 0)


async def test_a_caller_who_resumes_cancels_the_speculation():
    llm, heard, users, stats = await scene(
        [
            start(),
            interim("I have a question"),
            SleepFrame(0.05),
            stop(),
            SleepFrame(0.05),
            start(),
            SleepFrame(0.2),
            interim("I have a question about my bill."),
            stop(),
            SleepFrame(0.05),
            final("I have a question about my bill."),
        ]
    )
    assert heard.texts == ["answer: I have a question about my bill."]
    assert users == ["I have a question about my bill."]
    assert stats.wasted["resumed"] == 1 and stats.confirmed == 1
    assert llm.requests[0] == ("I have a question", True)
    assert llm.cancelled >= 1  # the first request stopped at the caller's first sound


async def test_a_final_with_other_words_discards_the_speculation():
    llm, heard, users, stats = await scene(
        [
            start(),
            interim("I want to book"),
            SleepFrame(0.05),
            stop(),
            SleepFrame(0.15),
            final("I want to book today."),
        ]
    )
    # the held answer to "I want to book" was dropped; the final's words were answered
    assert heard.texts == ["answer: I want to book today."]
    assert users == ["I want to book today."]
    assert stats.wasted["differs"] == 1
    assert llm.requests[0] == ("I want to book", True)


async def test_unfinished_words_wait_through_a_pause_longer_than_the_speech_timeout():
    llm, heard, users, stats = await scene(
        [
            start(),
            interim("I'm calling about"),
            stop(),
            final("I'm calling about"),
            SleepFrame(0.6),  # longer than the open wait (0.3 s): today this turn would end
            start(),
            SleepFrame(0.2),
            interim("my bill from March"),
            stop(),
            final("my bill from March."),
        ]
    )
    assert users == ["I'm calling about my bill from March."]
    # one answer, to the whole sentence: the interim's words (speculated on, the final
    # confirmed them) or the final's
    assert [t.rstrip(".") for t in heard.texts] == ["answer: I'm calling about my bill from March"]
    assert stats.started == 1 and stats.confirmed == 1  # nothing asked on the first half


async def test_without_speculation_the_llm_is_asked_once_the_turn_ends():
    llm, heard, users, stats = await scene(
        [
            start(),
            interim("book it for tomorrow"),
            stop(),
            SleepFrame(0.15),
            final("Book it for tomorrow."),
        ],
        speculate=False,
    )
    assert llm.requests == [("Book it for tomorrow.", False)]
    assert heard.texts == ["answer: Book it for tomorrow."]
    assert stats.started == 0


async def test_words_after_the_vads_stop_replace_the_speculation():
    # The STT lags the audio: its last interim may come after the VAD's stop.
    llm, heard, users, stats = await scene(
        [
            start(),
            interim("I have a question"),
            SleepFrame(0.05),
            stop(),
            SleepFrame(0.02),
            interim("I have a question about my bill"),
            SleepFrame(0.15),
            final("I have a question about my bill."),
        ]
    )
    assert [r for r, _ in llm.requests] == ["I have a question", "I have a question about my bill"]
    assert heard.texts == ["answer: I have a question about my bill"]
    assert users == ["I have a question about my bill."]
    assert (stats.wasted["differs"], stats.confirmed) == (1, 1)


async def test_words_in_an_interim_hold_the_turn_until_their_final():
    # The STT's safety net (p99 0.3 s - the VAD's 0.2 s) runs out before the final of the
    # words the last interim had: the turn must not end on the first half alone.
    for speculate in (True, False):
        llm, heard, users, stats = await scene(
            [
                start(),
                final("I'm calling about"),
                SleepFrame(0.05),
                interim("my bill."),
                SleepFrame(0.05),
                stop(),
                SleepFrame(0.4),
                final("my bill."),
            ],
            speculate=speculate,
            ttfs=0.3,
        )
        assert users == ["I'm calling about my bill."], (speculate, users)
        assert heard.texts == ["answer: I'm calling about my bill."], (speculate, heard.texts)


async def test_no_speculation_on_words_transcribed_while_the_caller_still_spoke():
    # The STT's last interim came 0.5 s before the VAD's stop (its stop_secs 0.2 s): it lags
    # the speech. Nothing is asked on it; the final's words are asked at once.
    llm, heard, users, stats = await scene(
        [
            start(),
            interim("I want to book"),
            SleepFrame(0.5),
            stop(),
            SleepFrame(0.1),
            final("I want to book today."),
        ]
    )
    assert llm.requests[0] == ("I want to book today.", True)
    assert heard.texts == ["answer: I want to book today."]
    assert users == ["I want to book today."]
    assert (stats.started, stats.confirmed, stats.wasted_total) == (1, 1, 0)


async def test_an_interim_after_the_speech_ended_is_speculated_on():
    # The stale interim is skipped at the VAD's stop; a newer one (the STT caught up) is used.
    llm, heard, users, stats = await scene(
        [
            start(),
            interim("I have a question"),
            SleepFrame(0.5),
            stop(),
            SleepFrame(0.02),
            interim("I have a question about my bill"),
            SleepFrame(0.15),
            final("I have a question about my bill."),
        ]
    )
    assert [r for r, _ in llm.requests] == ["I have a question about my bill"]
    assert heard.texts == ["answer: I have a question about my bill"]
    assert (stats.started, stats.confirmed, stats.wasted_total) == (1, 1, 0)

"""processors/router.py: hits play the cached bytes and swallow the transcript; misses pass on.

The matcher is the real one (WordLlama and audio_cache/routes.yaml); the phrase audio is
made up here, so the tests can compare bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    LLMMessagesAppendFrame,
    OutputAudioRawFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.tests.utils import SleepFrame, run_test

from agent.graph.build import ProcessCache
from agent.phrases.cache import PhraseBook
from agent.phrases.intent import RouteMatcher, load_encoder
from agent.phrases.routes import load_routes
from processors.frames import DoNotCallFrame, EndCallFrame
from processors.router import IntentRouter

ROOT = Path(__file__).resolve().parents[2]
ROUTES = load_routes(ROOT / "audio_cache" / "routes.yaml")
SHARED = ProcessCache()  # one WordLlama for the module


@pytest.fixture
def caplog_loguru():
    from loguru import logger

    messages: list[str] = []
    sink = logger.add(messages.append, level="WARNING", format="{message}")
    yield messages
    logger.remove(sink)


def pcm_for(name: str) -> bytes:
    """Distinct, recognisable PCM per phrase (odd length in samples: no 20 ms multiple)."""
    return bytes([len(name) % 251, 7]) * 1234


@pytest.fixture(scope="module")
def matcher():
    return RouteMatcher(ROUTES.routes, load_encoder("wordllama", SHARED), threshold=0.65)


def router(matcher, *, missing: tuple[str, ...] = ()) -> IntentRouter:
    names = [n for n in ROUTES.all_phrases() if n not in missing]
    book = PhraseBook(
        pcm={n: pcm_for(n) for n in names},
        texts=ROUTES.all_phrases(),
        problems={n: "missing: not in the manifest" for n in missing},
    )
    return IntentRouter(matcher, ROUTES.routes, book, name="router")


def said(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text, "caller", "2026-01-01T00:00:00", finalized=True)


# The agent finished speaking (its greeting), then the caller's turn began.
IDLE_TURN = [BotStartedSpeakingFrame(), BotStoppedSpeakingFrame(), UserStartedSpeakingFrame()]


def of(frames, kind) -> list:
    return [f for f in frames if isinstance(f, kind)]


async def test_hit_plays_exactly_the_cached_bytes_and_swallows_the_transcript(matcher):
    r = router(matcher)
    down, up = await run_test(r, frames_to_send=[*IDLE_TURN, said("How much does it cost?")])
    audio = of(down, OutputAudioRawFrame)
    assert [a.audio for a in audio] == [pcm_for("pricing")]
    assert (audio[0].sample_rate, audio[0].num_channels) == (8000, 1)
    # one utterance, bounded for the pacer; not opened as an assistant turn by pipecat
    started, stopped = of(down, TTSStartedFrame), of(down, TTSStoppedFrame)
    assert len(started) == len(stopped) == 1 and not started[0].append_to_context
    assert down.index(started[0]) < down.index(audio[0]) < down.index(stopped[0])
    # the words never reach the LLM; a blank transcript keeps pipecat's turn-taking going
    assert [f.text for f in of(down, TranscriptionFrame)] == [" "]
    [append] = of(down, LLMMessagesAppendFrame)
    assert append.run_llm is False
    assert append.messages == [
        {"role": "user", "content": "How much does it cost?"},
        {"role": "assistant", "content": ROUTES.routes["pricing"].say},
    ]
    assert not of(up, EndCallFrame) and not of(down, TTSSpeakFrame)
    [hit] = r.hits
    assert (hit.route, hit.cached, hit.action) == ("pricing", True, "offer_message")
    assert hit.seconds < 0.05


async def test_miss_passes_the_transcript_on_untouched(matcher):
    r = router(matcher)
    question = said("What are your opening hours?")
    down, up = await run_test(r, frames_to_send=[*IDLE_TURN, question])
    assert of(down, TranscriptionFrame) == [question]
    assert not of(down, OutputAudioRawFrame) and not of(down, LLMMessagesAppendFrame)
    assert not r.hits and not of(up, EndCallFrame)


async def test_a_hit_on_a_route_the_call_has_off_goes_to_the_llm(matcher):
    # The matcher knows every route (one per file and settings); this call has the transfer
    # route off (no TRANSFER_NUMBER, or after hours), so "a person" is the LLM's to answer.
    assert matcher.match("Can I talk to a real person?").route == "human"
    active = {n: r for n, r in ROUTES.routes.items() if n != "human"}
    book = PhraseBook(pcm={n: pcm_for(n) for n in ROUTES.all_phrases()},
                      texts=ROUTES.all_phrases(), problems={})  # fmt: skip
    r = IntentRouter(matcher, active, book, name="router")
    question = said("Can I talk to a real person?")
    down, _ = await run_test(r, frames_to_send=[*IDLE_TURN, question])
    assert of(down, TranscriptionFrame) == [question]
    assert not of(down, OutputAudioRawFrame) and not r.hits


async def test_stop_route_lists_the_number_then_ends_the_call_after_its_phrase(matcher):
    r = router(matcher)
    down, up = await run_test(r, frames_to_send=[*IDLE_TURN, said("Please stop calling me.")])
    [audio] = of(down, OutputAudioRawFrame)
    assert audio.audio == pcm_for("stop")
    # The phrase's words travel with its audio, so a barge-in can tell which were heard.
    assert " ".join(w for _, w in audio.words) == ROUTES.routes["stop"].say
    [listed] = of(up, DoNotCallFrame)  # "we won't call you again": the number is listed
    assert listed.source == "route:stop"
    [end] = of(up, EndCallFrame)
    assert (end.reason, end.goodbye) == ("router", "")  # the phrase is the goodbye
    assert end.id > listed.id > audio.id  # pushed after the audio was on its way
    assert r.hits[0].action == "do_not_call"


async def test_missing_cache_entry_falls_back_to_live_tts(matcher, caplog_loguru):
    r = router(matcher, missing=("who_are_you",))
    down, _ = await run_test(r, frames_to_send=[*IDLE_TURN, said("Who am I talking to?")])
    [speak] = of(down, TTSSpeakFrame)
    assert speak.text == ROUTES.routes["who_are_you"].say
    assert speak.append_to_context is False  # the router writes the context itself, once
    assert not of(down, OutputAudioRawFrame)
    assert len(of(down, LLMMessagesAppendFrame)) == 1
    assert [f.text for f in of(down, TranscriptionFrame)] == [" "]
    assert r.hits[0].cached is False
    assert any("live TTS" in m for m in caplog_loguru)


async def test_a_turn_that_barged_in_goes_to_the_llm(matcher):
    # The agent is still speaking when the caller's turn starts: pipecat treats an empty
    # barge-in turn as a lost utterance and re-runs the LLM, so the router leaves it alone.
    r = router(matcher)
    question = said("How much does it cost?")
    frames = [BotStartedSpeakingFrame(), UserStartedSpeakingFrame(), question]
    down, _ = await run_test(r, frames_to_send=frames)
    assert of(down, TranscriptionFrame) == [question] and not r.hits


async def test_no_turn_before_the_agent_first_spoke_is_routed(matcher):
    r = router(matcher)
    question = said("How much does it cost?")
    down, _ = await run_test(r, frames_to_send=[UserStartedSpeakingFrame(), question])
    assert of(down, TranscriptionFrame) == [question] and not r.hits


async def test_one_answer_per_turn_and_the_llm_keeps_a_turn_it_started(matcher):
    r = router(matcher)
    um, cost, again = said("Um, so"), said("how much does it cost?"), said("Who are you?")
    # (system frames overtake data frames: the sleeps keep the order the test means)
    frames = [
        *IDLE_TURN,
        um,  # a miss: the LLM owns this turn now
        cost,
        SleepFrame(0.05),
        UserStoppedSpeakingFrame(),
        BotStartedSpeakingFrame(),  # the LLM's answer plays
        BotStoppedSpeakingFrame(),
        UserStartedSpeakingFrame(),  # a new idle turn
        SleepFrame(0.05),
        again,
        said("how much is it?"),  # a second piece of a routed turn: the LLM's
    ]
    down, _ = await run_test(r, frames_to_send=frames)
    texts = [f.text for f in of(down, TranscriptionFrame)]
    assert texts == ["Um, so", "how much does it cost?", " ", "how much is it?"]
    assert [h.route for h in r.hits] == ["who_are_you"]


async def test_blank_transcripts_pass(matcher):
    r = router(matcher)
    blank = said("  ")
    down, _ = await run_test(r, frames_to_send=[*IDLE_TURN, blank])
    assert of(down, TranscriptionFrame) == [blank] and not r.hits


async def test_message_routes_start_or_offer_message_taking_after_their_phrase(matcher):
    from processors.frames import OfferMessageFrame, TakeMessageFrame

    down, _ = await run_test(
        router(matcher), frames_to_send=[*IDLE_TURN, said("Can I leave a message?")]
    )
    [take] = of(down, TakeMessageFrame)
    assert take.asked and take.reason == "caller_asked" and not take.interruptible
    assert down.index(take) > down.index(of(down, TTSStoppedFrame)[0])  # after the phrase

    down, _ = await run_test(router(matcher), frames_to_send=[*IDLE_TURN, said("How much is it?")])
    assert len(of(down, OfferMessageFrame)) == 1 and not of(down, TakeMessageFrame)


async def test_no_turn_is_routed_while_a_message_is_taken(matcher):
    from processors.frames import MessageTakingFrame

    r = router(matcher)
    answer = said("have someone call me back")  # the answer to a question: not a route
    down, _ = await run_test(
        r, frames_to_send=[MessageTakingFrame(active=True), *IDLE_TURN, answer]
    )
    assert not r.hits and of(down, TranscriptionFrame) == [answer]
    assert not of(down, MessageTakingFrame)  # the router keeps it

    r = router(matcher)
    down, _ = await run_test(
        r,
        frames_to_send=[
            MessageTakingFrame(active=True),
            MessageTakingFrame(active=False),  # the message is taken: routes again
            *IDLE_TURN,
            said("How much is it?"),
        ],
    )
    assert [hit.route for hit in r.hits] == ["pricing"]

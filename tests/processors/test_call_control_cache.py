"""processors/call_control.py with an audio cache: cached texts play from it, others via TTS."""

from __future__ import annotations

from pipecat.frames.frames import (
    EndWorkerFrame,
    LLMMessagesAppendFrame,
    OutputAudioRawFrame,
    TTSSpeakFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.tests.utils import run_test

from agent.graph.model import CallSettings
from agent.phrases.cache import PhraseBook
from processors.call_control import CallController
from processors.clock import FakeClock
from processors.frames import EndCallFrame

GREETING = "Thanks for calling Acme. How can I help?"
GOODBYE = "Thanks for calling. Goodbye!"
PCM = {"greeting": b"\x01\x02" * 800, "goodbye": b"\x03\x04" * 900}
BOOK = PhraseBook(pcm=PCM, texts={"greeting": GREETING, "goodbye": GOODBYE, "fallback": "Sorry."})


def of(frames, kind) -> list:
    return [f for f in frames if isinstance(f, kind)]


async def test_cached_greeting_plays_from_the_cache_and_enters_the_context():
    controller = CallController(
        clock=FakeClock(), settings=CallSettings(greeting=GREETING), phrases=BOOK
    )
    down, _ = await run_test(controller, frames_to_send=[])
    assert not of(down, TTSSpeakFrame)
    assert [f.audio for f in of(down, OutputAudioRawFrame)] == [PCM["greeting"]]
    [audio] = of(down, OutputAudioRawFrame)
    assert " ".join(w for _, w in audio.words) == GREETING  # for the heard-text accounting
    assert len(of(down, TTSStartedFrame)) == len(of(down, TTSStoppedFrame)) == 1
    [append] = of(down, LLMMessagesAppendFrame)
    assert append.messages == [{"role": "assistant", "content": GREETING}]
    assert append.run_llm is False


async def test_texts_not_in_the_cache_use_the_tts():
    controller = CallController(
        clock=FakeClock(), settings=CallSettings(greeting="Hello there."), phrases=BOOK
    )
    down, _ = await run_test(controller, frames_to_send=[])
    assert [f.text for f in of(down, TTSSpeakFrame)] == ["Hello there."]
    assert not of(down, OutputAudioRawFrame)


async def test_without_phrases_everything_uses_the_tts():
    down, _ = await run_test(
        CallController(clock=FakeClock(), settings=CallSettings(greeting=GREETING)),
        frames_to_send=[],
    )
    assert [f.text for f in of(down, TTSSpeakFrame)] == [GREETING]


async def test_cached_goodbye_then_end_and_a_router_goodbye_says_nothing_more():
    controller = CallController(
        clock=FakeClock(), settings=CallSettings(greeting=None, goodbye=GOODBYE), phrases=BOOK
    )
    down, _ = await run_test(controller, frames_to_send=[EndCallFrame(reason="idle")])
    [audio] = of(down, OutputAudioRawFrame)
    assert audio.audio == PCM["goodbye"]
    [end] = of(down, EndWorkerFrame)
    assert down.index(end) > down.index(audio)

    controller = CallController(
        clock=FakeClock(), settings=CallSettings(greeting=None, goodbye=GOODBYE), phrases=BOOK
    )
    down, _ = await run_test(controller, frames_to_send=[EndCallFrame("router", goodbye="")])
    assert not of(down, OutputAudioRawFrame) and not of(down, TTSSpeakFrame)
    assert [f.reason for f in of(down, EndWorkerFrame)] == ["router"]
    assert controller.hang_up_reason == "router"

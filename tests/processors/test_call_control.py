"""processors/call_control.py: greeting, DTMF, hang-up requests, idle prompts."""

from __future__ import annotations

import asyncio

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndWorkerFrame,
    InputDTMFFrame,
    LLMMessagesAppendFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.tests.utils import SleepFrame, run_test

from agent.graph.model import CallSettings
from processors.call_control import CallController
from processors.frames import EndCallFrame


def settings(**changes) -> CallSettings:
    return CallSettings(**{"greeting": "Hello there.", "goodbye": "Bye now.", **changes})


async def test_greets_at_start():
    down, _ = await run_test(CallController(settings()), frames_to_send=[])
    assert [f.text for f in down if isinstance(f, TTSSpeakFrame)] == ["Hello there."]


async def test_unmapped_digit_reaches_the_llm_and_mapped_digits_act():
    controller = CallController(
        settings(
            greeting=None,
            dtmf={"0": {"say": "Our office is on Main Street."}, "9": {"action": "hang_up"}},
        )
    )
    pressed = []

    @controller.event_handler("on_dtmf")
    async def on_dtmf(_controller, digit):
        pressed.append(digit)

    down, _ = await run_test(
        controller,
        frames_to_send=[
            InputDTMFFrame(KeypadEntry.FIVE),
            InputDTMFFrame(KeypadEntry.ZERO),
            InputDTMFFrame(KeypadEntry.NINE),
        ],
    )
    appended = [f for f in down if isinstance(f, LLMMessagesAppendFrame)]
    assert appended[0].messages == [
        {"role": "user", "content": "The caller pressed 5 on the keypad."}
    ]
    assert appended[0].run_llm
    spoken = [f.text for f in down if isinstance(f, TTSSpeakFrame)]
    assert spoken == ["Our office is on Main Street.", "Bye now."]
    assert not any(isinstance(f, InputDTMFFrame) for f in down)
    ends = [f for f in down if isinstance(f, EndWorkerFrame)]
    assert len(ends) == 1 and ends[0].reason == "dtmf"
    assert controller.hang_up_reason == "dtmf"
    assert pressed == ["5", "0", "9"]  # every key, mapped or not (the call record's turns)
    # the goodbye is queued before the end
    assert down.index(ends[0]) > max(i for i, f in enumerate(down) if isinstance(f, TTSSpeakFrame))


async def test_end_call_request_says_the_given_goodbye_once():
    down, _ = await run_test(
        CallController(settings(greeting=None)),
        frames_to_send=[EndCallFrame(goodbye="See you."), EndCallFrame(goodbye="Again?")],
    )
    assert [f.text for f in down if isinstance(f, TTSSpeakFrame)] == ["See you."]
    assert len([f for f in down if isinstance(f, EndWorkerFrame)]) == 1


async def test_idle_prompts_then_goodbye_counted_from_bot_stopped_speaking():
    controller = CallController(
        settings(greeting=None, idle_timeout_s=0.2, max_idle_prompts=1, idle_prompt="Still there?")
    )
    down, _ = await run_test(
        controller,
        frames_to_send=[
            BotStartedSpeakingFrame(),
            SleepFrame(0.5),  # the agent is speaking: no idle prompt however long it takes
            BotStoppedSpeakingFrame(),  # idle timer starts here
            SleepFrame(0.35),  # -> "Still there?"
            BotStartedSpeakingFrame(),
            BotStoppedSpeakingFrame(),
            SleepFrame(0.35),  # -> goodbye and hang up
        ],
    )
    spoken = [f.text for f in down if isinstance(f, TTSSpeakFrame)]
    assert spoken == ["Still there?", "Bye now."]
    assert controller.hang_up_reason == "idle"


async def test_caller_speech_resets_the_idle_prompt_count():
    controller = CallController(
        settings(greeting=None, idle_timeout_s=0.2, max_idle_prompts=1, idle_prompt="Still there?")
    )
    down, _ = await run_test(
        controller,
        frames_to_send=[
            BotStoppedSpeakingFrame(),
            SleepFrame(0.35),  # prompt 1
            UserStartedSpeakingFrame(),
            UserStoppedSpeakingFrame(),
            BotStoppedSpeakingFrame(),
            SleepFrame(0.35),  # prompt again (count reset), not a hang-up
        ],
    )
    assert [f.text for f in down if isinstance(f, TTSSpeakFrame)] == [
        "Still there?",
        "Still there?",
    ]
    assert controller.hang_up_reason is None


async def test_time_limit_says_the_notice_then_goodbye():
    controller = CallController(settings(greeting=None, max_duration_s=1))
    down, _ = await run_test(controller, frames_to_send=[SleepFrame(1.3)])
    spoken = [f.text for f in down if isinstance(f, TTSSpeakFrame)]
    assert spoken == ["I'm sorry, we've reached the time limit for this call.", "Bye now."]
    assert controller.hang_up_reason == "timeout"
    await asyncio.sleep(0)

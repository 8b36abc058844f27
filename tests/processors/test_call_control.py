"""processors/call_control.py: greeting, DTMF, hang-up requests, idle prompts, time limit.

Timers run on a fake clock (processors/clock.py): no test sleeps on the wall clock."""

from __future__ import annotations

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
from pipecat.tests.utils import run_test

from agent.graph.model import CallSettings
from processors.call_control import CallController
from processors.clock import FakeClock
from processors.frames import EndCallFrame, TurnFailedFrame
from tests.processors.clocked import run_steps
from tests.processors.pacer_twilio import Recorder


def settings(**changes) -> CallSettings:
    return CallSettings(**{"greeting": "Hello there.", "goodbye": "Bye now.", **changes})


def controller_on(clock: FakeClock, **changes) -> CallController:
    return CallController(settings(**changes), clock=clock)


async def run_on_clock(controller: CallController, clock: FakeClock, steps: list) -> list:
    """controller ! recorder in a worker: frames are queued, numbers advance the clock.
    Returns the frames that came out downstream, the call's end included."""
    down = Recorder(clock)
    await run_steps(clock, [controller, down], steps)
    return [frame for _, frame in down.frames]


async def test_greets_at_start():
    down, _ = await run_test(controller_on(FakeClock()), frames_to_send=[])
    assert [f.text for f in down if isinstance(f, TTSSpeakFrame)] == ["Hello there."]


async def test_a_recorded_call_hears_the_recording_notice_before_the_greeting():
    controller = controller_on(FakeClock(), record=True, recording_notice="We record calls.")
    down, _ = await run_test(controller, frames_to_send=[])
    spoken = [f.text for f in down if isinstance(f, TTSSpeakFrame)]
    assert spoken == ["We record calls.", "Hello there."]


async def test_unmapped_digit_reaches_the_llm_and_mapped_digits_act():
    controller = controller_on(
        FakeClock(),
        greeting=None,
        dtmf={"0": {"say": "Our office is on Main Street."}, "9": {"action": "hang_up"}},
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
        controller_on(FakeClock(), greeting=None),
        frames_to_send=[EndCallFrame(goodbye="See you."), EndCallFrame(goodbye="Again?")],
    )
    assert [f.text for f in down if isinstance(f, TTSSpeakFrame)] == ["See you."]
    assert len([f for f in down if isinstance(f, EndWorkerFrame)]) == 1


async def test_idle_prompts_then_goodbye_counted_from_bot_stopped_speaking():
    clock = FakeClock()
    controller = controller_on(
        clock, greeting=None, idle_timeout_s=0.2, max_idle_prompts=1, idle_prompt="Still there?"
    )
    down = await run_on_clock(
        controller,
        clock,
        [
            BotStartedSpeakingFrame(),
            0.5,  # the agent is speaking: no idle prompt however long it takes
            BotStoppedSpeakingFrame(),  # idle timer starts here
            0.19,
            0.02,  # -> "Still there?" at 0.2 s
            BotStartedSpeakingFrame(),
            BotStoppedSpeakingFrame(),
            0.35,  # -> goodbye and hang up
        ],
    )
    spoken = [f.text for f in down if isinstance(f, TTSSpeakFrame)]
    assert spoken == ["Still there?", "Bye now."]
    assert controller.hang_up_reason == "idle"


async def test_caller_speech_resets_the_idle_prompt_count():
    clock = FakeClock()
    controller = controller_on(
        clock, greeting=None, idle_timeout_s=0.2, max_idle_prompts=1, idle_prompt="Still there?"
    )
    down = await run_on_clock(
        controller,
        clock,
        [
            BotStoppedSpeakingFrame(),
            0.35,  # prompt 1
            UserStartedSpeakingFrame(),
            UserStoppedSpeakingFrame(),
            BotStoppedSpeakingFrame(),
            0.35,  # prompt again (count reset), not a hang-up
        ],
    )
    assert [f.text for f in down if isinstance(f, TTSSpeakFrame)] == [
        "Still there?",
        "Still there?",
    ]
    assert controller.hang_up_reason is None


async def test_no_idle_prompt_while_the_caller_is_mid_turn():
    clock = FakeClock()
    controller = controller_on(
        clock, greeting=None, idle_timeout_s=0.2, max_idle_prompts=1, idle_prompt="Still there?"
    )
    down = await run_on_clock(
        controller,
        clock,
        [UserStartedSpeakingFrame(), BotStoppedSpeakingFrame(), 1.0],  # a barge-in, talking on
    )
    assert not [f for f in down if isinstance(f, TTSSpeakFrame)]


async def test_time_limit_says_the_notice_then_goodbye():
    clock = FakeClock()
    controller = controller_on(clock, greeting=None, max_duration_s=1)
    down = await run_on_clock(controller, clock, [0.99])
    assert not [f for f in down if isinstance(f, TTSSpeakFrame)]  # not before the limit

    clock = FakeClock()
    controller = controller_on(clock, greeting=None, max_duration_s=1)
    down = await run_on_clock(controller, clock, [1.01])
    spoken = [f.text for f in down if isinstance(f, TTSSpeakFrame)]
    assert spoken == ["I'm sorry, we've reached the time limit for this call.", "Bye now."]
    assert controller.hang_up_reason == "timeout"


async def test_a_call_back_from_a_transfer_keeps_the_time_it_has_already_used():
    clock = FakeClock()
    controller = CallController(
        settings(greeting=None, max_duration_s=10), clock=clock, elapsed_s=9
    )
    down = await run_on_clock(controller, clock, [0.9])
    assert not [f for f in down if isinstance(f, TTSSpeakFrame)]
    clock = FakeClock()
    controller = CallController(
        settings(greeting=None, max_duration_s=10), clock=clock, elapsed_s=9
    )
    await run_on_clock(controller, clock, [1.01])
    assert controller.hang_up_reason == "timeout"  # 1 s on this stream, 10 s on the call


async def test_failures_closer_than_the_gap_get_one_fallback():
    clock = FakeClock()
    controller = controller_on(clock, greeting=None, fallback="Sorry, say again?")
    failed = TurnFailedFrame(stage="llm", reason="timeout")
    down = await run_on_clock(
        controller, clock, [failed, 1.0, TurnFailedFrame(stage="tts", reason="x"), 3.0, failed]
    )
    spoken = [f.text for f in down if isinstance(f, TTSSpeakFrame)]
    assert spoken == ["Sorry, say again?", "Sorry, say again?"]  # at 0 s and 4 s, not 1 s


async def test_a_caller_turn_nothing_answers_gets_the_fallback():
    # Issue 20: a turn with no reply (Whisper heard no words, a reply lost) left the call
    # silent until the caller spoke again: the idle timer starts only after the agent spoke.
    from processors.idle_timer import ANSWER_TIMEOUT_S

    def turn_then(*steps):
        return [BotStartedSpeakingFrame(), BotStoppedSpeakingFrame(), 1.0, *steps]

    clock = FakeClock()
    controller = controller_on(clock, greeting=None, fallback="Sorry, say again?")
    asked = [UserStartedSpeakingFrame(), UserStoppedSpeakingFrame()]
    down = await run_on_clock(controller, clock, turn_then(*asked, ANSWER_TIMEOUT_S - 0.1))
    assert not [f for f in down if isinstance(f, TTSSpeakFrame)]  # not before its time

    clock = FakeClock()
    controller = controller_on(clock, greeting=None, fallback="Sorry, say again?")
    down = await run_on_clock(controller, clock, turn_then(*asked, ANSWER_TIMEOUT_S + 0.1))
    assert [f.text for f in down if isinstance(f, TTSSpeakFrame)] == ["Sorry, say again?"]
    assert controller.failures == [("turn", "unanswered")]

    # a turn that ends while the agent speaks is not guarded
    clock = FakeClock()
    controller = controller_on(clock, greeting=None, fallback="Sorry, say again?")
    down = await run_on_clock(controller, clock, [BotStartedSpeakingFrame(), *asked, 30.0])
    assert not [f for f in down if isinstance(f, TTSSpeakFrame)]

    # answered in time (the agent's audio started), or the caller talks on: no fallback
    for late in ([BotStartedSpeakingFrame()], [UserStartedSpeakingFrame()]):
        clock = FakeClock()
        controller = controller_on(clock, greeting=None, fallback="Sorry, say again?")
        steps = turn_then(*asked, ANSWER_TIMEOUT_S - 1, *late, 30.0)
        down = await run_on_clock(controller, clock, steps)
        assert not [f for f in down if isinstance(f, TTSSpeakFrame)], late


async def test_do_not_call_lists_the_number_through_the_bound_function_and_says_so():
    import asyncio

    from processors.frames import DoNotCallFrame

    listed: list[str] = []

    async def list_number(source: str) -> bool:
        listed.append(source)
        return True

    controller = controller_on(FakeClock(), greeting=None)
    controller.list_number = list_number
    done = asyncio.get_running_loop().create_future()
    unbound = asyncio.get_running_loop().create_future()
    await run_test(
        controller, frames_to_send=[DoNotCallFrame(source="tool:do_not_call", done=done)]
    )
    assert listed == ["tool:do_not_call"] and done.result() is True
    # Nothing bound (no database): the frame's sender hears it was not listed.
    await run_test(
        controller_on(FakeClock(), greeting=None), frames_to_send=[DoNotCallFrame(done=unbound)]
    )
    assert unbound.result() is False

"""CalleeAnswer's decision on a fake clock: a person by AMD, by words or by silence; a
machine by AMD (message now) or by words (message once the greeting and beep are over);
each decided once, never both."""

from __future__ import annotations

from processors.callee_answer import CalleeAnswer
from processors.clock import FakeClock


def callee(clock: FakeClock) -> tuple[CalleeAnswer, list]:
    decided: list = []
    answer = CalleeAnswer(
        on_human=lambda why: decided.append(("human", why, clock.now())),
        on_machine=lambda why: decided.append(("machine", why, clock.now())),
        clock=clock,
    )
    answer.started()
    return answer, decided


async def test_amd_human_greets_at_once_and_nothing_after_changes_it():
    clock = FakeClock(0.0)
    answer, decided = callee(clock)
    await clock.advance(1.0)
    answer.amd("human")
    answer.heard("You've reached Ann, leave a message")  # too late: a person was decided
    answer.amd("machine_end_beep")
    await clock.advance(30)
    assert decided == [("human", "amd:human", 1.0)]


async def test_first_words_of_a_person_greet_them():
    clock = FakeClock(0.0)
    answer, decided = callee(clock)
    answer.speech_started()
    await clock.advance(1.0)
    answer.speech_stopped()
    answer.heard("Hello?")
    await clock.advance(30)
    assert decided == [("human", "words: first words", 1.0)]


async def test_silence_is_a_person_waiting_for_us_after_the_cap():
    clock = FakeClock(0.0)
    _, decided = callee(clock)
    await clock.advance(30)
    assert decided == [("human", "no words in 4 s", 4.0)]


async def test_speech_without_a_verdict_greets_at_the_longer_cap():
    clock = FakeClock(0.0)
    answer, decided = callee(clock)
    await clock.advance(1.0)
    answer.speech_started()  # speaking past the silent cap: wait for the words
    await clock.advance(30)
    assert decided == [("human", "no verdict in 12 s", 12.0)]


async def test_amd_message_end_leaves_the_message_at_once():
    clock = FakeClock(0.0)
    answer, decided = callee(clock)
    answer.speech_started()
    await clock.advance(6.0)
    answer.amd("machine_end_beep")
    await clock.advance(30)
    assert decided == [("machine", "amd:machine_end_beep", 6.0)]


async def test_a_voicemail_by_its_words_waits_for_the_beep_to_end():
    clock = FakeClock(0.0)
    answer, decided = callee(clock)
    answer.speech_started()
    await clock.advance(3.0)
    answer.speech_stopped()
    answer.heard("Hi, you've reached Ann. Leave a message after the tone.")
    await clock.advance(1.0)
    answer.speech_started()  # the beep
    await clock.advance(0.5)
    answer.speech_stopped()
    assert decided == []
    answer.heard("beep")  # whatever the STT made of it: already decided machine
    await clock.advance(30)
    assert decided == [("machine", "words: you've reached", 6.0)]  # 1.5 s after the beep


async def test_amd_after_words_said_machine_ends_the_wait():
    clock = FakeClock(0.0)
    answer, decided = callee(clock)
    answer.speech_started()
    await clock.advance(2.0)
    answer.heard("The person you are calling is not available")
    answer.amd("machine_end_other")  # Twilio heard the end of the message
    await clock.advance(30)
    assert decided == [("machine", "amd:machine_end_other", 2.0)]


async def test_amd_before_the_pipeline_started_is_kept_until_it_does():
    clock = FakeClock(0.0)
    decided: list = []
    answer = CalleeAnswer(
        on_human=lambda why: decided.append(why), on_machine=decided.append, clock=clock
    )
    answer.amd("human")
    assert decided == []
    answer.started()
    assert decided == ["amd:human"]


async def test_unknown_amd_leaves_the_decision_to_the_words():
    clock = FakeClock(0.0)
    answer, decided = callee(clock)
    answer.speech_started()
    answer.amd("unknown")
    await clock.advance(2.0)
    answer.heard("Yeah, who's this?")
    assert decided == [("human", "words: first words", 2.0)]


async def test_the_amd_watch_runs_from_the_start_and_is_cancelled_at_cleanup():
    """The binder's watch (AMD read from the records) starts with the pipeline, can decide the
    call, and does not outlive it."""
    import asyncio

    from pipecat.tests.utils import SleepFrame, run_test

    decided: list = []
    answer = CalleeAnswer(on_human=decided.append, on_machine=decided.append)
    seen: dict = {}

    async def watch() -> None:
        seen["started"] = True
        answer.amd("machine_end_beep")  # read from the records
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise

    answer.watch = watch
    await run_test(answer, frames_to_send=[SleepFrame(0.2)])
    assert seen == {"started": True, "cancelled": True}
    assert decided == ["amd:machine_end_beep"]
    assert not answer.undecided()

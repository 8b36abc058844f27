"""The person's side of a warm transfer (processors/warm_accept.py) on virtual time: the
brief and the question, keypad and spoken answers, the question asked again, the timeout."""

from __future__ import annotations

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    EndWorkerFrame,
    Frame,
    InputDTMFFrame,
    InterruptionFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from processors.clock import FakeClock
from processors.warm_accept import START_GRACE_S, WarmAcceptor
from tests.processors.clocked import run_steps
from tests.processors.pacer_twilio import Recorder

ASK = "Press 1 or 2."


class Sink:
    def __init__(self, settled: bool = True):
        self.decisions: list[str] = []
        self.settled = settled

    def decide(self, decision: str) -> bool:
        self.decisions.append(decision)
        return self.settled


class PlayedOut(FrameProcessor):
    """Sends a BotStoppedSpeakingFrame queued downstream back upstream, as the pacer does."""

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, BotStoppedSpeakingFrame) and direction == FrameDirection.DOWNSTREAM:
            await self.push_frame(frame, FrameDirection.UPSTREAM)
        else:
            await self.push_frame(frame, direction)


async def run(steps: list, *, timeout_s: float = 20, settled: bool = True):
    clock = FakeClock()
    acceptor = WarmAcceptor(
        "Hi, I have Ann on hold.",
        ask=ASK,
        connecting="Connecting.",
        declined="Bye.",
        caller_left="They left.",
        accept_timeout_s=timeout_s,
        clock=clock,
    )
    sink = Sink(settled)
    acceptor.bind_sink(sink)
    down = Recorder(clock)
    await run_steps(clock, [acceptor, PlayedOut(), down], steps, target=acceptor)
    said = [f.text for _, f in down.frames if isinstance(f, TTSSpeakFrame)]
    ends = [f.reason for _, f in down.frames if isinstance(f, EndWorkerFrame)]
    sink.interruptions = len(down.of(InterruptionFrame))
    return acceptor, sink, said, ends


async def test_brief_then_question_then_1_accepts():
    acceptor, sink, said, ends = await run([InputDTMFFrame(KeypadEntry.ONE)])
    assert sink.interruptions == 1  # whatever is still playing of the brief is cut
    assert said == ["Hi, I have Ann on hold.", ASK, "Connecting."]
    assert sink.decisions == ["accepted"] and ends == ["accepted"]
    assert acceptor.decision == "accepted"


async def test_2_declines_and_other_keys_wait():
    _, sink, said, ends = await run(
        [InputDTMFFrame(KeypadEntry.FIVE), InputDTMFFrame(KeypadEntry.TWO)]
    )
    assert sink.decisions == ["declined"] and said[-1] == "Bye." and ends == ["declined"]


async def test_spoken_yes_and_no_decide_other_words_wait():
    def heard(text):
        return TranscriptionFrame(text=text, user_id="", timestamp="")

    _, sink, _, ends = await run([heard("who is it?"), heard("Yeah, sure.")])
    assert sink.decisions == ["accepted"] and ends == ["accepted"]
    _, sink, _, _ = await run([heard("No, not now.")])
    assert sink.decisions == ["declined"]


async def test_no_answer_asks_again_at_half_time_then_times_out():
    acceptor, sink, said, ends = await run(
        [BotStoppedSpeakingFrame(), 9.9, 0.2, 9.8, 0.2], timeout_s=20
    )
    assert said == ["Hi, I have Ann on hold.", ASK, ASK, "Bye."]
    assert sink.decisions == ["timeout"] and ends == ["declined"] and acceptor.asked == 2


async def test_the_timers_start_when_the_question_has_played_or_after_a_grace():
    _, sink, _, _ = await run([25.0], timeout_s=20)
    assert sink.decisions == []  # nothing played yet: no countdown
    _, sink, said, _ = await run([START_GRACE_S + 20.5], timeout_s=20)
    assert sink.decisions == ["timeout"] and said.count(ASK) == 2


async def test_an_answer_after_the_caller_left_hears_so():
    _, sink, said, ends = await run([InputDTMFFrame(KeypadEntry.ONE)], settled=False)
    assert sink.decisions == ["accepted"] and said[-1] == "They left." and ends == ["caller_left"]


async def test_the_caller_leaving_mid_brief_ends_the_stream_once():
    async def caller_left(acceptor):
        await acceptor.caller_left()

    acceptor, sink, said, ends = await run([caller_left, InputDTMFFrame(KeypadEntry.ONE)])
    assert said[-1] == "They left." and ends == ["caller_left"] and sink.decisions == []

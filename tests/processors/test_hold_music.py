"""The caller's hold (processors/hold_music.py) on virtual time: the caller unheard, the
music after the hold phrase, looped at real time, cleared when it stops."""

from __future__ import annotations

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from processors.clock import FakeClock
from processors.hold_music import CHUNK_S, LEAD_S, HoldMusic, music_chunks
from tests.processors.clocked import run_steps
from tests.processors.pacer_twilio import Recorder

MUSIC = bytes(range(256)) * 10  # 2560 bytes: 0.16 s, so the loop wraps


class Pacer(FrameProcessor):
    """Turns the bot-speaking frames queued downstream upstream, as the pacer sends them."""

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        speaking = (BotStartedSpeakingFrame, BotStoppedSpeakingFrame)
        if isinstance(frame, speaking) and direction == FrameDirection.DOWNSTREAM:
            await self.push_frame(frame, FrameDirection.UPSTREAM)
        else:
            await self.push_frame(frame, direction)


def test_music_chunks_loop_without_a_gap():
    chunks, pos = music_chunks(b"abcdefg", 5, 3, 4)
    assert chunks == [b"fgab", b"cdef", b"gabc"] and pos == 3


async def steps_on_clock(steps: list):
    clock = FakeClock()
    hold = HoldMusic(MUSIC, clock=clock, name="hold")
    down = Recorder(clock)
    await run_steps(clock, [hold, Pacer(), down], steps, target=hold)
    return hold, down


def caller_audio():
    return InputAudioRawFrame(audio=b"\0" * 320, sample_rate=8000, num_channels=1)


async def start(hold):
    await hold.start()


async def stop(hold):
    await hold.stop()


async def test_music_after_the_phrase_at_real_time_then_cleared():
    hold, down = await steps_on_clock(
        [
            caller_audio(),  # before the hold: passes
            start,
            BotStartedSpeakingFrame(),  # the hold phrase plays
            caller_audio(),  # on hold: stops here
            2.0,
            BotStoppedSpeakingFrame(),  # the phrase has played: the music starts
            3.0,
            stop,
            caller_audio(),  # heard again
            1.0,
        ]
    )
    music = down.of(OutputAudioRawFrame)
    assert len(down.of(InputAudioRawFrame)) == 2
    first_t = music[0][0]
    assert first_t == 1002.0  # not before the phrase ended
    # Never more than LEAD_S ahead of real time: chunk n goes out by n * CHUNK_S - LEAD_S.
    for n, (t, _) in enumerate(music):
        assert t >= first_t + n * CHUNK_S - LEAD_S - 1e-9
    assert round(3.0 / CHUNK_S) <= len(music) <= round((3.0 + LEAD_S) / CHUNK_S) + 1
    assert b"".join(f.audio for _, f in music).startswith(MUSIC + MUSIC[:100])  # looped
    assert all(t <= 1005.0 for t, _ in music)  # nothing after the stop
    assert [t for t, _ in down.of(InterruptionFrame)] == [1005.0]  # the pacer clears
    assert not hold.holding


async def test_stopped_before_the_music_nothing_is_cleared():
    hold, down = await steps_on_clock([start, BotStartedSpeakingFrame(), 1.0, stop, 20.0])
    assert not down.of(OutputAudioRawFrame) and not down.of(InterruptionFrame)


async def test_no_phrase_playing_the_music_starts_after_a_grace():
    _, down = await steps_on_clock([start, 5.0])
    music = down.of(OutputAudioRawFrame)
    assert music and music[0][0] == 1003.0  # PHRASE_START_S

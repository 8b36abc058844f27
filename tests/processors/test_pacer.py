"""processors/pacer/: 20 ms chunks, marks, mark-driven speaking state, barge-in, end of call.

The pacer writes to a small "Twilio" media link on a real send clock (pacer_twilio.py) that
plays what it gets in real time and echoes each mark back when the audio before it has
played (or at once, unplayed, on clear). Everything runs on a fake clock.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    StartFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.utils.text.base_text_aggregator import TextType

from agent.twilio.send_clock import TICK_S
from processors.frames import HeardTextFrame
from processors.pacer import CHUNK_BYTES, AudioPacer
from tests.processors.pacer_twilio import SECOND, PacerCall, run


def word(text: str) -> TTSTextFrame:
    return TTSTextFrame(text, text_type=TextType.WORD)


def utterance(audio: bytes, sizes=(1000, 333, 1001)) -> list:
    frames: list = [TTSStartedFrame()]
    pos = 0
    for size in sizes:
        frames.append(TTSAudioRawFrame(audio[pos : pos + size], 8000, 1))
        pos += size
    frames.append(TTSAudioRawFrame(audio[pos:], 8000, 1))
    frames.append(TTSStoppedFrame())
    return frames


async def test_rechunks_to_exact_20ms_and_pads_only_at_the_end():
    audio = bytes(range(256)) * 40 + b"\x01\x02" * 7  # 10254 bytes: not a chunk multiple
    call = await run(utterance(audio))
    chunks = [p for _, p in call.twilio.audio()]
    assert all(len(c) == CHUNK_BYTES for c in chunks)
    sent = b"".join(chunks)
    assert sent[: len(audio)] == audio
    assert (
        sent[len(audio) :] == bytes(len(sent) - len(audio)) and len(sent) - len(audio) < CHUNK_BYTES
    )
    # Nothing of the audio travels downstream as frames: it all went through the link.
    assert not call.down.of(OutputAudioRawFrame)


async def test_never_sends_faster_than_real_time_plus_lead():
    call = await run(utterance(bytes(SECOND)), lead_ms=80)  # one second
    times = [t for t, _ in call.twilio.audio()]
    start = times[0]
    for k, t in enumerate(times):
        # chunk k may go out once Twilio holds at most the lead (the send clock writes up
        # to a tick early): at start + k*20 ms - 80 ms - a tick
        assert t >= start + k * 0.02 - 0.08 - TICK_S - 1e-6, (k, t - start)
    assert times[-1] - start >= 1.0 - 0.08 - 0.02 - TICK_S - 1e-6


async def test_marks_every_interval_and_at_the_end_and_speaking_follows_echoes():
    call = await run(utterance(bytes(SECOND)), mark_interval_ms=250)
    marks = call.twilio.marks()
    assert marks[-1] == "u1-end"
    assert len(marks) >= 4  # every 250 ms of a 1 s utterance, the last one being the end
    assert call.pacer.stats.marks_played == len(marks)
    started = [t for t, _ in call.down.of(BotStartedSpeakingFrame)]
    stopped = [t for t, _ in call.down.of(BotStoppedSpeakingFrame)]
    assert len(started) == 1 and len(stopped) == 1
    # Stopped when Twilio finished playing (the echo of the end mark), not at the last send.
    last_send = call.twilio.audio()[-1][0]
    assert stopped[0] >= last_send + 0.015
    assert stopped[0] >= call.twilio.play_end - 1e-6
    assert call.upstream.of(BotStoppedSpeakingFrame)


async def test_without_echoes_speaking_stops_after_the_mark_timeout():
    call = await run(utterance(bytes(SECOND // 5)), echo=False, mark_timeout_s=0.3, wait=1.0)
    stopped = call.down.of(BotStoppedSpeakingFrame)
    last_send = call.twilio.audio()[-1][0]
    assert stopped and stopped[0][0] >= last_send + 0.3


async def test_interruption_drops_the_queue_and_reports_the_heard_words():
    # Six words, each followed by half a second of its audio (words without TTS timestamps are
    # placed where they arrive), all queued at once as a TTS faster than real time would.
    words = ["one", "two", "three", "four", "five", "six"]
    frames: list = [TTSStartedFrame()]
    for w in words:
        frames += [word(w), TTSAudioRawFrame(bytes(SECOND // 2), 8000, 1)]
    frames += [1.2, InterruptionFrame()]
    call = await run(frames, mark_interval_ms=250, wait=0.5, lead_ms=200)
    [(interruption_t, _)] = call.down.of(InterruptionFrame)
    assert call.twilio.clears == [interruption_t]  # the clear went out with it
    assert [t for t, _ in call.twilio.audio() if t > interruption_t] == []
    sent_s = len(call.twilio.heard()) / SECOND
    assert 1.0 < sent_s < 1.6
    [(_, heard)] = call.down.of(HeardTextFrame)
    assert heard.interrupted and heard.spoken == " ".join(words)
    # ~1.2 s played, marks every 250 ms: "one" (0 s), "two" (0.5 s), maybe "three" (1.0 s)
    assert heard.text in ("one two", "one two three"), heard.text


async def test_an_interruption_with_nothing_unplayed_sends_no_clear():
    call = await run([*utterance(bytes(SECOND // 5)), 1.0, InterruptionFrame()])
    assert call.down.of(InterruptionFrame)  # passed on downstream all the same
    assert call.twilio.clears == [] and not call.down.of(HeardTextFrame)


async def test_a_tts_behind_mid_answer_keeps_the_agent_speaking_until_its_audio_played():
    # 0.48 s of audio, then the TTS stalls with the utterance open. Marks every 250 ms leave
    # the last 0.22 s unmarked; the agent must not stop "speaking" before that has played.
    frames = [TTSStartedFrame(), TTSAudioRawFrame(bytes(SECOND * 48 // 100), 8000, 1), 1.0]
    frames += [TTSAudioRawFrame(bytes(SECOND // 5), 8000, 1), TTSStoppedFrame()]
    # With a 400 ms lead the last echo finds the queue dry; with 80 ms the queue runs dry
    # before it, and without a new mark none would come while the TTS is behind.
    for lead_ms in (400, 80):
        call = await run(frames, mark_interval_ms=250, lead_ms=lead_ms)
        first_audio = call.twilio.audio()[0][0]
        first_stop = call.down.of(BotStoppedSpeakingFrame)[0][0]
        # Before the fix: at the 250 ms mark's echo (400), after the stall (80).
        assert first_audio + 0.45 <= first_stop < first_audio + 1.0, lead_ms
        marks = call.twilio.marks()
        assert any(m.startswith("u1-t") for m in marks), (lead_ms, marks)
        assert call.pacer.stats.marks_played == len(marks)


async def test_a_barge_in_after_a_pause_mid_answer_reports_the_words_before_it():
    frames: list = [TTSStartedFrame(), word("hello"), TTSAudioRawFrame(bytes(SECOND // 5), 8000, 1)]
    frames += [TTSStoppedFrame(), 0.6]  # a whole utterance, played: not part of the answer
    frames += [TTSStartedFrame(), word("one"), TTSAudioRawFrame(bytes(SECOND * 3 // 10), 8000, 1)]
    frames += [word("two"), TTSAudioRawFrame(bytes(SECOND * 3 // 10), 8000, 1)]
    frames += [1.0]  # the TTS is behind: everything sent has played, the answer goes on
    frames += [word("three"), TTSAudioRawFrame(bytes(SECOND), 8000, 1), 0.4, InterruptionFrame()]
    call = await run(frames, mark_interval_ms=250, lead_ms=400, wait=0.3)
    assert len(call.down.of(BotStoppedSpeakingFrame)) >= 2  # the pause really was silence
    [(_, heard)] = call.down.of(HeardTextFrame)
    assert heard.spoken == "one two three"
    assert heard.text in ("one two", "one two three"), heard.text


async def test_a_barge_in_on_a_cached_phrase_reports_the_words_played():
    from processors.cached_speech import cached_speech_frames

    # Two seconds of "voice", six words of equal length: one every third of a second.
    phrase = "aaaa bbbb cccc dddd eeee ffff"
    pcm = (np.sin(np.arange(2 * 8000) / 8000 * 2 * np.pi * 300) * 8000).astype(np.int16)
    frames = [*cached_speech_frames(pcm.tobytes(), phrase), 1.0, InterruptionFrame()]
    call = await run(frames, mark_interval_ms=250, wait=0.3)
    [(_, heard)] = call.down.of(HeardTextFrame)
    assert heard.spoken == phrase and heard.interrupted
    # ~1 s played (marks every 250 ms): the first two or three words, not the whole phrase.
    assert heard.text in ("aaaa bbbb", "aaaa bbbb cccc"), heard.text


async def test_end_frame_waits_for_the_last_mark_echo():
    call = await run(utterance(bytes(SECOND // 2)))
    end_t = call.down.of(EndFrame)[0][0]
    assert end_t >= call.twilio.play_end - 1e-6  # the whole utterance played before the end


async def test_the_link_gets_audio_and_marks_in_order_with_a_lateness_per_chunk():
    lateness: list[float] = []
    call = PacerCall(mark_interval_ms=100)
    call.pacer.on_send_lateness = lateness.append
    await call.start()
    audio = bytes(range(256)) * 25  # 6400 bytes: 20 chunks, 0.4 s
    await call.play(utterance(audio))
    await call.end()
    chunks = [p for _, p in call.twilio.audio()]
    assert all(len(c) == CHUNK_BYTES for c in chunks) and b"".join(chunks) == audio
    marks = call.twilio.marks()
    assert marks[-1].endswith("-end") and len(marks) >= 4  # every 100 ms, then the end
    # Marks follow the audio before them: the end mark is written after the last chunk.
    kinds = [kind for _, kind, _ in call.twilio.written]
    assert kinds[-1] == "mark" and kinds.index("mark") > 0
    # The end of the call waited for the last echo.
    assert call.down.of(EndFrame)[0][0] >= call.twilio.play_end - 1e-6
    assert call.pacer.stats.marks_played == len(marks)
    # One lateness sample per chunk; on time, each is at most a tick.
    assert len(lateness) == len(chunks) and max(lateness) <= TICK_S + 1e-6


async def test_chunks_are_handed_over_ahead_in_batches_and_leave_on_time():
    call = await run(utterance(bytes(range(256)) * 75), lead_ms=200)  # 1.2 s: 60 chunks
    written = call.twilio.audio()
    assert call.twilio.heard()[: 256 * 75] == bytes(range(256)) * 75  # all of it, in order
    assert all(len(p) == CHUNK_BYTES for _, p in written)
    # Handed over in batches: the pacer woke ~10 times a second, not once per chunk (50).
    times = call.twilio.handed_over
    wake_ups = 1 + sum(1 for n in range(1, len(times)) if times[n] > times[n - 1])
    assert wake_ups <= 20, wake_ups
    # ...and still paced: at any write, at most lead + one tick of audio ahead.
    first = written[0][0]
    sent = 0
    for t, pcm in written:
        sent += len(pcm)
        assert sent / SECOND <= (t - first) + 0.2 + TICK_S + 0.02 + 1e-6


async def interrupted_after_half_a_second() -> tuple[PacerCall, float]:
    """2 s of audio queued at once (200 ms lead), interrupted 0.5 s in."""
    call = await PacerCall(lead_ms=200).start()
    await call.play([*utterance(bytes(SECOND * 2)), 0.5, InterruptionFrame()])
    await call.end(wait=0.3)
    return call, call.down.of(InterruptionFrame)[0][0]


async def test_the_link_gets_nothing_after_an_interruption():
    call, interrupted_t = await interrupted_after_half_a_second()
    audio_times = [t for t, _ in call.twilio.audio()]
    assert audio_times and all(t <= interrupted_t for t in audio_times)
    assert 0.4 < len(audio_times) * 0.02 < 0.75  # ~0.5 s played plus the 200 ms lead


async def test_an_interruption_drops_the_audio_handed_to_the_clock():
    call, interrupted_t = await interrupted_after_half_a_second()
    written = call.twilio.audio()
    handed_over = sum(1 for t in call.twilio.handed_over if t <= interrupted_t)
    assert len(written) < handed_over  # some had been handed over and were never written
    assert call.pacer.stats.chunks_sent == len(written)
    # The clear's echoes (unplayed) find nothing outstanding: forgotten before the clear.
    stats = call.pacer.stats
    assert 0 < stats.marks_played < stats.marks_sent and stats.marks_cleared == 0


async def test_the_end_of_the_calls_media_ends_the_wait_for_echoes():
    call = await PacerCall(echo=False, mark_timeout_s=30).start()
    await call.play([*utterance(bytes(SECOND // 2)), 1.0])
    call.pacer.media_ended()  # the caller hung up: no echo will ever come
    start = call.clock.now()
    await call.end()
    assert call.down.of(EndFrame)[0][0] - start < 0.1  # not the 30 s mark timeout


async def test_a_pacer_with_no_link_refuses_to_start():
    pacer = AudioPacer(name="unbound")
    with pytest.raises(RuntimeError, match="no media link"):
        await pacer.handle(StartFrame(), None)


def test_queued_chunks_leave_the_collector_after_one_collection():
    """A whole answer waits in the pacer as 20 ms chunks; the collector must not walk them in
    every middle and full collection while they wait."""
    pacer = AudioPacer()
    chunker = pacer._chunker
    chunker.begin()
    chunker._base_ns = 0  # an utterance under way, its word clock set
    chunker.take_audio(b"\0" * CHUNK_BYTES * 3)
    chunks = [item for item in chunker.queue if isinstance(item, tuple)]
    assert len(chunks) == 3
    gc.collect()
    assert not [c for c in chunks if gc.is_tracked(c)]


async def _paced_reading(read_ahead_ms: int) -> tuple[PacerCall, list[float]]:
    """What a bound TTS does (agent/nodes/cartesia.py): before handing on each 20 ms chunk it
    has read, wait for room, then reserve it; 1.5 s, all available at once."""
    call = await PacerCall(read_ahead_ms=read_ahead_ms, lead_ms=200).start()
    await call.play([TTSStartedFrame()])
    pacer, read_at = call.pacer, []

    async def read() -> None:
        for _ in range(75):
            await pacer.wait_for_room()
            pacer.reserve(CHUNK_BYTES)
            read_at.append(call.clock.now())
            await call.worker.queue_frame(TTSAudioRawFrame(bytes(CHUNK_BYTES), 8000, 1))

    await call.clock.run_until(read())
    await call.play([TTSStoppedFrame()])
    await call.end()
    return call, read_at


async def test_a_bound_tts_reads_at_the_pace_of_play_out():
    call, read_at = await _paced_reading(400)
    assert len(call.twilio.heard()) == 75 * CHUNK_BYTES  # all of it played, nothing lost
    stats = call.pacer.stats
    assert stats.read_pauses > 0
    assert stats.max_queued_s <= 0.4 + 0.02 and stats.max_read_ahead_s <= 0.42
    # The last chunk was read about when 0.4 s of audio (+ the 0.2 s lead) was left to play.
    assert read_at[-1] - read_at[0] > 1.5 - 0.4 - 0.2 - 0.2


async def test_without_a_read_ahead_the_whole_answer_is_read_at_once():
    call, read_at = await _paced_reading(0)
    assert len(call.twilio.heard()) == 75 * CHUNK_BYTES
    assert call.pacer.stats.read_pauses == 0 and call.pacer.stats.max_queued_s > 1.0
    assert read_at[-1] - read_at[0] < 0.5


async def test_the_room_opens_on_an_interruption_and_when_reserved_audio_never_comes():
    import asyncio

    call = await PacerCall(read_ahead_ms=100).start()
    pacer, clock = call.pacer, call.clock
    pacer.reserve(SECOND)  # a TTS read a second that it never hands on
    waiting = asyncio.ensure_future(pacer.wait_for_room())
    await clock.advance(0.1)
    assert not waiting.done()
    await clock.advance(0.5)  # forgotten after RESERVATION_EXPIRY_S
    assert waiting.done()
    await call.play([*utterance(bytes(SECOND)), 0.1])
    waiting = asyncio.ensure_future(pacer.wait_for_room())
    await clock.advance(0.05)
    assert not waiting.done()  # a second queued, 100 ms allowed
    await call.play([InterruptionFrame()])
    assert waiting.done()
    await call.end()
    await clock.run_until(pacer.wait_for_room(), limit=0.1)  # stopped: never holds a TTS again

"""processors/pacer.py: 20 ms chunks, marks, mark-driven speaking state, barge-in, end of call.

A small "Twilio" sits after the pacer: it plays what it gets in real time and echoes each mark
back into the pacer when the audio before it has played (or at once, unplayed, on clear).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndFrame,
    Frame,
    InterruptionFrame,
    OutputAudioRawFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.utils.text.base_text_aggregator import AggregationType

from agent.adapters import engine
from agent.twilio.send_clock import TICK_S, SendClock, text_frame
from processors.frames import HeardTextFrame, OutputMarkFrame, TwilioMarkFrame
from processors.pacer import CHUNK_BYTES, AudioPacer

SECOND = 16000  # bytes of 8 kHz PCM16


class FakeTwilio(FrameProcessor):
    """Plays audio in real time; echoes marks when played (upstream-side echo into the pacer).

    Direct mode: each frame is recorded the moment the pacer pushes it, as the socket would
    see it. A queued fake takes system frames first, so audio pushed just before an
    interruption could be recorded after it."""

    def __init__(self, pacer: AudioPacer, echo: bool = True):
        super().__init__(enable_direct_mode=True)
        self.pacer = pacer
        self.echo = echo
        self.frames: list[tuple[float, Frame]] = []
        self.audio = bytearray()
        self.play_end = 0.0

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        now = time.monotonic()
        self.frames.append((now, frame))
        if isinstance(frame, OutputAudioRawFrame):
            self.audio += frame.audio
            self.play_end = max(self.play_end, now) + len(frame.audio) / SECOND
        elif isinstance(frame, OutputMarkFrame) and self.echo:
            delay = max(0.0, self.play_end - now)
            asyncio.get_running_loop().call_later(
                delay,
                lambda name=frame.mark_name: asyncio.ensure_future(
                    self.pacer.queue_frame(TwilioMarkFrame(mark_name=name, played=True))
                ),
            )
        await self.push_frame(frame, direction)

    def of(self, kind) -> list[tuple[float, Frame]]:
        return [(t, f) for t, f in self.frames if isinstance(f, kind)]


class UpstreamLog(FrameProcessor):
    def __init__(self):
        super().__init__()
        self.frames: list[Frame] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if direction == FrameDirection.UPSTREAM:
            self.frames.append(frame)
        await self.push_frame(frame, direction)


def word(text: str) -> TTSTextFrame:
    return TTSTextFrame(text, aggregated_by=AggregationType.WORD)


async def run(
    frames_before_end: list,
    *,
    echo: bool = True,
    wait: float = 0.0,
    pacer: AudioPacer | None = None,
    **pacer_args,
):
    pacer = pacer or AudioPacer(**pacer_args)
    twilio = FakeTwilio(pacer, echo=echo)
    upstream = UpstreamLog()
    worker = engine.make_worker([upstream, pacer, twilio])
    runner = asyncio.ensure_future(engine.run_worker(worker))
    await asyncio.sleep(0.05)
    for frame in frames_before_end:
        if isinstance(frame, (int, float)):
            await asyncio.sleep(frame)
        else:
            await worker.queue_frame(frame)
    await asyncio.sleep(wait)
    await worker.queue_frame(EndFrame())
    await asyncio.wait_for(runner, 15)
    return pacer, twilio, upstream


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
    pacer, twilio, _ = await run(utterance(audio))
    chunks = [f.audio for _, f in twilio.of(OutputAudioRawFrame)]
    assert all(len(c) == CHUNK_BYTES for c in chunks)
    sent = b"".join(chunks)
    assert sent[: len(audio)] == audio
    assert (
        sent[len(audio) :] == bytes(len(sent) - len(audio)) and len(sent) - len(audio) < CHUNK_BYTES
    )


async def test_never_sends_faster_than_real_time_plus_lead():
    audio = bytes(SECOND)  # one second
    pacer, twilio, _ = await run(utterance(audio), lead_ms=80)
    times = [t for t, _ in twilio.of(OutputAudioRawFrame)]
    start = times[0]
    for k, t in enumerate(times):
        # chunk k may go out once Twilio holds at most the lead: at start + k*20 ms - 80 ms
        assert t >= start + k * 0.02 - 0.08 - 0.005, (k, t - start)
    assert times[-1] - start >= 1.0 - 0.08 - 0.02 - 0.01


async def test_marks_every_interval_and_at_the_end_and_speaking_follows_echoes():
    audio = bytes(SECOND)
    pacer, twilio, upstream = await run(utterance(audio), mark_interval_ms=250)
    marks = [f.mark_name for _, f in twilio.of(OutputMarkFrame)]
    assert marks[-1] == "u1-end"
    assert len(marks) >= 4  # every 250 ms of a 1 s utterance, the last one being the end
    assert pacer.stats.marks_played == len(marks)
    started = [t for t, f in twilio.of(BotStartedSpeakingFrame)]
    stopped = [t for t, f in twilio.of(BotStoppedSpeakingFrame)]
    assert len(started) == 1 and len(stopped) == 1
    # Stopped when Twilio finished playing (the echo of the end mark), not at the last send.
    last_send = twilio.of(OutputAudioRawFrame)[-1][0]
    assert stopped[0] >= last_send + 0.015
    assert any(isinstance(f, BotStoppedSpeakingFrame) for f in upstream.frames)


async def test_without_echoes_speaking_stops_after_the_mark_timeout():
    pacer, twilio, _ = await run(
        utterance(bytes(SECOND // 5)), echo=False, mark_timeout_s=0.3, wait=1.0
    )
    stopped = twilio.of(BotStoppedSpeakingFrame)
    last_send = twilio.of(OutputAudioRawFrame)[-1][0]
    assert stopped and stopped[0][0] >= last_send + 0.3


async def test_interruption_drops_the_queue_and_reports_the_heard_words():
    # Six words, each followed by half a second of its audio (words without TTS timestamps are
    # placed where they arrive), all queued at once as a TTS faster than real time would.
    words = ["one", "two", "three", "four", "five", "six"]
    frames: list = [TTSStartedFrame()]
    for w in words:
        frames += [word(w), TTSAudioRawFrame(bytes(SECOND // 2), 8000, 1)]
    frames += [1.2, InterruptionFrame()]
    pacer, twilio, _ = await run(frames, mark_interval_ms=250, wait=0.5, lead_ms=200)
    interruption_t = twilio.of(InterruptionFrame)[0][0]
    after = [t for t, _ in twilio.of(OutputAudioRawFrame) if t > interruption_t]
    assert after == []
    sent_s = len(twilio.audio) / SECOND
    assert 1.0 < sent_s < 1.6
    [(_, heard)] = twilio.of(HeardTextFrame)
    assert heard.interrupted and heard.spoken == " ".join(words)
    # ~1.2 s played, marks every 250 ms: "one" (0 s), "two" (0.5 s), maybe "three" (1.0 s)
    assert heard.text in ("one two", "one two three"), heard.text


async def test_a_tts_behind_mid_answer_keeps_the_agent_speaking_until_its_audio_played():
    # 0.48 s of audio, then the TTS stalls with the utterance open. Marks every 250 ms leave
    # the last 0.22 s unmarked; the agent must not stop "speaking" before that has played.
    frames = [TTSStartedFrame(), TTSAudioRawFrame(bytes(SECOND * 48 // 100), 8000, 1), 1.0]
    frames += [TTSAudioRawFrame(bytes(SECOND // 5), 8000, 1), TTSStoppedFrame()]
    # With a 400 ms lead the last echo finds the queue dry; with 80 ms the queue runs dry
    # before it, and without a new mark none would come while the TTS is behind.
    for lead_ms in (400, 80):
        pacer, twilio, _ = await run(frames, mark_interval_ms=250, lead_ms=lead_ms)
        first_audio = twilio.of(OutputAudioRawFrame)[0][0]
        first_stop = twilio.of(BotStoppedSpeakingFrame)[0][0]
        # Before the fix: at the 250 ms mark's echo (400), after the stall (80).
        assert first_audio + 0.45 <= first_stop < first_audio + 1.0, lead_ms
        marks = [f.mark_name for _, f in twilio.of(OutputMarkFrame)]
        assert any(m.startswith("u1-t") for m in marks), (lead_ms, marks)
        assert pacer.stats.marks_played == len(marks)


async def test_a_barge_in_after_a_pause_mid_answer_reports_the_words_before_it():
    frames: list = [TTSStartedFrame(), word("hello"), TTSAudioRawFrame(bytes(SECOND // 5), 8000, 1)]
    frames += [TTSStoppedFrame(), 0.6]  # a whole utterance, played: not part of the answer
    frames += [TTSStartedFrame(), word("one"), TTSAudioRawFrame(bytes(SECOND * 3 // 10), 8000, 1)]
    frames += [word("two"), TTSAudioRawFrame(bytes(SECOND * 3 // 10), 8000, 1)]
    frames += [1.0]  # the TTS is behind: everything sent has played, the answer goes on
    frames += [word("three"), TTSAudioRawFrame(bytes(SECOND), 8000, 1), 0.4, InterruptionFrame()]
    pacer, twilio, _ = await run(frames, mark_interval_ms=250, lead_ms=400, wait=0.3)
    assert len(twilio.of(BotStoppedSpeakingFrame)) >= 2  # the pause really was silence
    [(_, heard)] = twilio.of(HeardTextFrame)
    assert heard.spoken == "one two three"
    assert heard.text in ("one two", "one two three"), heard.text


async def test_a_barge_in_on_a_cached_phrase_reports_the_words_played():
    from processors.cached_speech import cached_speech_frames

    # Two seconds of "voice", six words of equal length: one every third of a second.
    phrase = "aaaa bbbb cccc dddd eeee ffff"
    pcm = (np.sin(np.arange(2 * 8000) / 8000 * 2 * np.pi * 300) * 8000).astype(np.int16)
    frames = [*cached_speech_frames(pcm.tobytes(), phrase), 1.0, InterruptionFrame()]
    pacer, twilio, _ = await run(frames, mark_interval_ms=250, wait=0.3)
    [(_, heard)] = twilio.of(HeardTextFrame)
    assert heard.spoken == phrase and heard.interrupted
    # ~1 s played (marks every 250 ms): the first two or three words, not the whole phrase.
    assert heard.text in ("aaaa bbbb", "aaaa bbbb cccc"), heard.text


async def test_end_frame_waits_for_the_last_mark_echo():
    audio = bytes(SECOND // 2)
    pacer, twilio, _ = await run(utterance(audio))
    end_t = twilio.of(EndFrame)[0][0]
    assert end_t >= twilio.play_end - 0.03  # the whole utterance played before the end


class DirectTwilio:
    """A MediaWriter (the Twilio transport's direct path): plays in real time, echoes marks."""

    def __init__(self):
        self.pacer: AudioPacer | None = None
        self.sent: list[tuple[float, str, object]] = []
        self.play_end = 0.0

    async def write_audio(self, pcm: bytes) -> bool:
        now = time.monotonic()
        self.sent.append((now, "audio", pcm))
        self.play_end = max(self.play_end, now) + len(pcm) / SECOND
        return True

    async def write_mark(self, name: str) -> bool:
        now = time.monotonic()
        self.sent.append((now, "mark", name))
        asyncio.get_running_loop().call_later(
            max(0.0, self.play_end - now),
            lambda: asyncio.ensure_future(
                self.pacer.queue_frame(TwilioMarkFrame(mark_name=name, played=True))
            ),
        )
        return True


async def test_bound_writer_gets_audio_and_marks_in_order_and_no_frames_downstream():
    writer = DirectTwilio()
    lateness: list[float] = []
    writer.pacer = AudioPacer(mark_interval_ms=100)
    writer.pacer.write_to(writer)
    writer.pacer.on_send_lateness = lateness.append
    audio = bytes(range(256)) * 25  # 6400 bytes: 20 chunks, 0.4 s
    pacer, twilio, _ = await run(utterance(audio), pacer=writer.pacer)
    assert not twilio.of(OutputAudioRawFrame) and not twilio.of(OutputMarkFrame)
    chunks = [p for _, kind, p in writer.sent if kind == "audio"]
    assert all(len(c) == CHUNK_BYTES for c in chunks) and b"".join(chunks) == audio
    marks = [p for _, kind, p in writer.sent if kind == "mark"]
    assert marks[-1].endswith("-end") and len(marks) >= 4  # every 100 ms, then the end
    # The end of the call waited for the last echo, as with frames.
    assert twilio.of(EndFrame)[0][0] >= writer.play_end - 0.03
    assert pacer.stats.marks_played == len(marks)
    # One lateness sample per chunk; on an idle loop each is a few ms at most.
    assert len(lateness) == len(chunks) and max(lateness) < 0.05


async def interrupted_after_half_a_second(writer) -> tuple[AudioPacer, float]:
    """2 s of audio queued at once to a pacer bound to `writer` (200 ms lead), interrupted
    0.5 s in; returns the pacer and when the interruption went past it."""
    pacer = AudioPacer(lead_ms=200)
    writer.pacer = pacer
    pacer.write_to(writer)
    twilio = FakeTwilio(pacer)
    worker = engine.make_worker([pacer, twilio])
    runner = asyncio.ensure_future(engine.run_worker(worker))
    await asyncio.sleep(0.05)
    for frame in utterance(bytes(SECOND * 2)):
        await worker.queue_frame(frame)
    await asyncio.sleep(0.5)
    await worker.queue_frame(InterruptionFrame())
    await asyncio.sleep(0.3)
    await worker.queue_frame(EndFrame())
    await asyncio.wait_for(runner, 15)
    return pacer, twilio.of(InterruptionFrame)[0][0]


async def test_bound_writer_gets_nothing_after_an_interruption():
    writer = DirectTwilio()
    _, interrupted_t = await interrupted_after_half_a_second(writer)
    audio_times = [t for t, kind, _ in writer.sent if kind == "audio"]
    assert audio_times and all(t <= interrupted_t for t in audio_times)
    assert 0.4 < len(audio_times) * 0.02 < 0.75  # ~0.5 s played plus the 200 ms lead


class ClockedTwilio:
    """A scheduling writer like the Twilio transport over the send clock: a real `SendClock`
    outlet whose transport plays what it is written in real time and echoes marks."""

    schedules = True

    def __init__(self):
        self.pacer: AudioPacer | None = None
        self.handed_over: list[float] = []  # when the pacer handed each chunk over
        self.written: list[tuple[float, str, bytes | str]] = []
        self.play_end = 0.0
        self.outlet = SendClock().open(self)

    # -- the writer, as the pacer sees it
    async def write_audio(self, pcm, at=None, *, due=0.0, on_lateness=None) -> bool:
        self.handed_over.append(time.monotonic())
        frame = text_frame("a" + pcm.hex())
        return self.outlet.send(frame, at, on_lateness=on_lateness, due=due)

    async def write_mark(self, name: str) -> bool:
        return self.outlet.send(text_frame("m" + name))

    def drop_scheduled(self) -> int:
        return self.outlet.drop_unsent()

    # -- the asyncio transport, as the outlet sees it
    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        now = time.monotonic()
        while data:
            size = data[1] if data[1] < 126 else int.from_bytes(data[2:4], "big")
            start = 2 if data[1] < 126 else 4
            text = data[start : start + size].decode()
            data = data[start + size :]
            if text[0] == "a":
                pcm = bytes.fromhex(text[1:])
                self.written.append((now, "audio", pcm))
                self.play_end = max(self.play_end, now) + len(pcm) / SECOND
            else:
                self.written.append((now, "mark", text[1:]))
                asyncio.get_running_loop().call_later(
                    max(0.0, self.play_end - now),
                    lambda name=text[1:]: asyncio.ensure_future(
                        self.pacer.queue_frame(TwilioMarkFrame(mark_name=name, played=True))
                    ),
                )

    def audio_written(self) -> list[tuple[float, bytes]]:
        return [(t, p) for t, kind, p in self.written if kind == "audio"]


async def test_a_clocked_writer_gets_chunks_ahead_in_batches_and_they_leave_on_time():
    writer = ClockedTwilio()
    pacer = AudioPacer(lead_ms=200)
    writer.pacer = pacer
    pacer.write_to(writer)
    lateness: list[float] = []
    pacer.on_send_lateness = lateness.append
    audio = bytes(range(256)) * 75  # 1.2 s: 60 chunks
    _, twilio, _ = await run(utterance(audio), pacer=pacer)
    written = writer.audio_written()
    assert b"".join(p for _, p in written) == audio  # all of it, in order, in 20 ms chunks
    assert all(len(p) == CHUNK_BYTES for _, p in written)
    assert [n for _, kind, n in writer.written if kind == "mark"][-1].endswith("-end")
    assert twilio.of(EndFrame)[0][0] >= writer.play_end - 0.03  # waited for the last echo
    assert not twilio.of(OutputAudioRawFrame)
    assert len(lateness) == len(written)
    # Handed over in batches: the pacer woke ~10 times a second, not once per chunk (50).
    times = writer.handed_over
    wake_ups = 1 + sum(1 for n in range(1, len(times)) if times[n] - times[n - 1] > 0.005)
    assert wake_ups <= 20, wake_ups
    # ...and still paced: at any write, at most lead + one tick (+ slack) of audio ahead.
    first = written[0][0]
    sent = 0
    for t, pcm in written:
        sent += len(pcm)
        assert sent / SECOND <= (t - first) + 0.2 + TICK_S + 0.03


async def test_an_interruption_drops_the_audio_handed_to_the_clock():
    writer = ClockedTwilio()
    pacer, interrupted_t = await interrupted_after_half_a_second(writer)
    written = writer.audio_written()
    assert written and all(t <= interrupted_t for t, _ in written)
    handed_over = sum(1 for t in writer.handed_over if t <= interrupted_t)
    assert len(written) < handed_over  # some had been handed over and were never written
    assert pacer.stats.chunks_sent == len(written)


def test_queued_chunks_leave_the_collector_after_one_collection():
    """A whole answer waits in the pacer as 20 ms chunks; the collector must not walk them in
    every middle and full collection while they wait."""
    import gc

    pacer = AudioPacer()
    pacer._open, pacer._base_ns = True, 0  # an utterance under way, its word clock set
    pacer._take_audio(OutputAudioRawFrame(b"\0" * CHUNK_BYTES * 3, 8000, 1))
    chunks = [item for item in pacer._queue if isinstance(item, tuple)]
    assert len(chunks) == 3
    gc.collect()
    assert not [c for c in chunks if gc.is_tracked(c)]


async def _read_like_a_tts(pacer: AudioPacer, worker, chunks: int) -> list[float]:
    """What a bound TTS does (agent/nodes/cartesia.py): before handing on each 20 ms chunk it
    has read, wait for room, then reserve it. Returns when each chunk was read."""
    read_at = []
    for _ in range(chunks):
        await pacer.wait_for_room()
        pacer.reserve(CHUNK_BYTES)
        read_at.append(time.monotonic())
        await worker.queue_frame(TTSAudioRawFrame(bytes(CHUNK_BYTES), 8000, 1))
    return read_at


async def _paced_reading(read_ahead_ms: int) -> tuple[AudioPacer, FakeTwilio, list[float]]:
    pacer = AudioPacer(read_ahead_ms=read_ahead_ms, lead_ms=200)
    twilio = FakeTwilio(pacer)
    worker = engine.make_worker([pacer, twilio])
    runner = asyncio.ensure_future(engine.run_worker(worker))
    await asyncio.sleep(0.05)
    await worker.queue_frame(TTSStartedFrame())
    read_at = await _read_like_a_tts(pacer, worker, 75)  # 1.5 s, all available at once
    await worker.queue_frame(TTSStoppedFrame())
    await worker.queue_frame(EndFrame())
    await asyncio.wait_for(runner, 15)
    return pacer, twilio, read_at


async def test_a_bound_tts_reads_at_the_pace_of_play_out():
    pacer, twilio, read_at = await _paced_reading(400)
    assert len(twilio.audio) == 75 * CHUNK_BYTES  # all of it played, nothing lost
    assert pacer.stats.read_pauses > 0
    assert pacer.stats.max_queued_s <= 0.4 + 0.02 and pacer.stats.max_read_ahead_s <= 0.42
    # The last chunk was read about when 0.4 s of audio (+ the 0.2 s lead) was left to play.
    assert read_at[-1] - read_at[0] > 1.5 - 0.4 - 0.2 - 0.2


async def test_without_a_read_ahead_the_whole_answer_is_read_at_once():
    pacer, twilio, read_at = await _paced_reading(0)
    assert len(twilio.audio) == 75 * CHUNK_BYTES
    assert pacer.stats.read_pauses == 0 and pacer.stats.max_queued_s > 1.0
    assert read_at[-1] - read_at[0] < 0.5


async def test_the_room_opens_on_an_interruption_and_when_reserved_audio_never_comes():
    pacer = AudioPacer(read_ahead_ms=100)
    worker = engine.make_worker([pacer, FakeTwilio(pacer)])
    runner = asyncio.ensure_future(engine.run_worker(worker))
    await asyncio.sleep(0.05)
    pacer.reserve(SECOND)  # a TTS read a second that it never hands on
    waiting = asyncio.ensure_future(pacer.wait_for_room())
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await asyncio.wait_for(waiting, 2.0)  # forgotten after RESERVATION_EXPIRY_S
    for frame in utterance(bytes(SECOND)):
        await worker.queue_frame(frame)
    await asyncio.sleep(0.1)
    waiting = asyncio.ensure_future(pacer.wait_for_room())
    await asyncio.sleep(0.05)
    assert not waiting.done()  # a second queued, 100 ms allowed
    await worker.queue_frame(InterruptionFrame())
    await asyncio.wait_for(waiting, 1.0)
    await worker.queue_frame(EndFrame())
    await asyncio.wait_for(runner, 15)
    await asyncio.wait_for(pacer.wait_for_room(), 0.1)  # stopped: never holds a TTS again

"""AudioPacer (`audio_pacer` node): real-time pacing of the agent's audio, with Twilio marks.

Twilio plays whatever it has buffered; audio sent faster than real time piles up there and
can only be stopped with `clear`, and audio sent late is a gap the caller hears. The pacer
keeps Twilio's buffer at `lead_ms` (default 400 ms): enough to ride out event-loop stalls,
a full garbage collection among them (~90-120 ms at 100 calls in one process). With the
calls' own bursts, stalls of 200-300 ms happened at 100 calls, and 200 ms of lead let them
through as underruns (34-153 per run, against 0-2 with 400 ms, run alternately on the same
code on 2026-12-05). Lead costs nothing on barge-in: `clear` empties Twilio's buffer
whatever it holds, and what was heard is counted from the marks Twilio echoes, not from
what was sent.

- consumes: agent audio (`OutputAudioRawFrame`s of any size, 8 kHz PCM16), `TwilioMarkFrame`
  (echoes), `InterruptionFrame`, `EndFrame`
- watches: `TTSStartedFrame` / `TTSStoppedFrame` (utterance bounds), `TTSTextFrame` (words,
  for what-was-heard accounting; a cached phrase's come in its `SpokenAudioFrame`); all
  forwarded unchanged
- produces: exact 20 ms / 320-byte PCM `OutputAudioRawFrame`s sent against an absolute
  play-out clock, `OutputMarkFrame`s (every `mark_interval_ms` of audio, at sentence ends and
  at each utterance's end), `BotStartedSpeakingFrame` / `BotSpeakingFrame` /
  `BotStoppedSpeakingFrame` (up and down) that follow what Twilio *played* (mark echoes),
  and `HeardTextFrame` after an interruption
- speaking and heard text: the agent stops "speaking" when Twilio has echoed every mark
  sent and nothing is queued. When the TTS falls behind mid-answer, audio sent after the
  last interval mark may still be playing then, or no mark may be left to echo at all: once
  the queue is dry with no mark outstanding, the sender marks what it sent since (a `-t`
  mark) and the agent stops speaking at that echo. A pause inside an utterance
  (TTSStarted..TTSStopped: in pipecat 1.14 one per LLM reply, whatever the TTS) ends the
  speaking, not the utterance's heard-text accounting, so a barge-in after the pause
  reports every word heard before it too.
- params: lead_ms, mark_interval_ms, mark_timeout_s (how long to wait for echoes Twilio
  never sends before assuming the audio played), read_ahead_ms (below)

Direct output (`write_to(writer)`, bound by the pipeline factory when the pacer is the last
processor before the transport): chunks and marks go straight to the socket through the
writer instead of as frames through the output transport. A frame crossing pipecat's output
transport costs two queue hand-offs, a task wake-up, an `asyncio.wait_for` task and a push
to the pipeline's end, 50 times a second per speaking call: the largest per-call cost at
scale. Writing directly also sends each chunk at the moment its clock says, not a queue
later. Everything else (`clear`, the call's end) still travels as frames. The writer hands
Twilio's echoes of those marks straight back to `take_echo` (agent/twilio/transport.py).

Scheduled output (a writer with `schedules`, the Twilio transport over the process's send
clock, agent/twilio/send_clock.py): the pacer does not sleep until each chunk is due. It hands
chunks over once they are due within HANDOFF_AHEAD_S (0.2 s), with the time each is due,
in batches of ~0.1 s, and the clock's one timer writes every call's chunks on time. The
sender wakes about ten times a second per speaking call instead of fifty; at 100 calls the
pacer's send lateness p99 fell from 123-285 ms to 80-113 ms and the jitter the caller sees
(p50) from 11-20 ms to 5-10 ms (alternated runs, 2026-12-05; bench/README.md). On an
interruption the pacer has the writer drop what it was handed and has not yet written,
before the `clear` goes.

Read-ahead (`wait_for_room` and `reserve`, bound by the pipeline factory to a TTS that
streams over a socket, i.e. Cartesia). Cartesia sends an answer far faster than real time
(the fakes: 7.9 s of audio, ~400 messages, at once). Read as it came, every message was
parsed and handed on at once, and when many calls' answers started together those bursts
saturated the event loop, delaying every other call's turn. So the TTS reads its stream
only while less than `read_ahead_ms` (1 s) of unsent audio is ahead of play-out, queued
here or reserved by the TTS on its way here, and resumes once that is 200 ms below. The
same work is spread over the answer's length, the provider's data waits in the socket (TCP
flow control), and a call holds about a second of answer audio instead of all of it. A
second rides out any stall of the reader; a barge-in empties the queue, so the TTS reads
on at once (and drops what was cancelled). A reservation turns into queued audio when the
audio arrives. Whatever never arrives (an utterance cut short) is forgotten at an
interruption, at the utterance's end, whenever the queue runs dry, and
RESERVATION_EXPIRY_S after reservations alone closed the room over an empty queue: the
room never stays closed while nothing is queued to play out.

Clock: each chunk may be sent when Twilio holds at most `lead` of audio; the play-out clock is
absolute, so after a stall shorter than the lead the pacer catches up instead of resetting,
and the stall never becomes a gap. Silence is padded only at an utterance's end.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from loguru import logger
from pipecat.frames.frames import (
    BotSpeakingFrame,
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    Frame,
    InterruptionFrame,
    OutputAudioRawFrame,
    StartFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from processors.frames import (
    TWILIO_IDLE,
    HeardTextFrame,
    OutputMarkFrame,
    SpokenAudioFrame,
    TwilioMarkFrame,
)
from processors.heard_text import HeardText
from processors.passthrough import CONSUMED, PassThroughProcessor

RATE = 8000
CHUNK_BYTES = 320  # 20 ms of 8 kHz PCM16 = 160 mu-law bytes on the wire
CHUNK_S = 0.02
BYTES_PER_S = RATE * 2
SENTENCE_ENDS = (".", "!", "?")
# pipecat's own output transport sends a BotSpeakingFrame every 0.2 s; each is broadcast up
# and down through every processor of the call. Nothing in our pipelines reads them (they
# only keep pipecat's idle timers, which we do not use, from firing), so once a second is
# plenty and costs a fifth of the frame traffic.
BOT_SPEAKING_PERIOD_S = 1.0


class MediaWriter(Protocol):
    """Where a directly bound pacer sends (the Twilio transport): False when the socket is gone.
    Binding sets `mark_receiver`: the writer hands Twilio's echoes of those marks back to it."""

    mark_receiver: Callable[[TwilioMarkFrame], Awaitable[None]] | None

    async def write_audio(self, pcm: bytes) -> bool: ...

    async def write_mark(self, name: str) -> bool: ...


class SchedulingWriter(MediaWriter, Protocol):
    """A writer with its own send clock (`schedules` True: the Twilio transport over the
    process's SendClock): audio is handed over ahead of time with the time it is due."""

    schedules: bool

    async def write_audio(
        self,
        pcm: bytes,
        at: float | None = None,
        *,
        due: float | None = None,
        on_lateness: Callable[[float], None] | None = None,
    ) -> bool: ...

    def drop_scheduled(self) -> int: ...


# 20 ms of queued audio: (audio bytes, utterance uid, utterance byte position after it,
# time.monotonic() when queued). A plain tuple of plain values, not a class: the collector
# stops tracking such a tuple after its first collection, so a whole answer waiting here
# (~400 chunks per speaking call) adds nothing to the middle and full collections that stall
# every call. (Instances of a class, named tuples included, stay tracked.)
_Chunk = tuple[bytes, int, int, float]

# Read-ahead hysteresis: once full, the TTS resumes reading this far below the limit, so it
# wakes about five times a second per speaking call instead of once per chunk.
READ_AHEAD_RESUME_S = 0.2
# Reservations that closed the room over an empty queue are forgotten after this long.
RESERVATION_EXPIRY_S = 0.5
# With a scheduling writer: chunks are handed over once due within HANDOFF_AHEAD_S, in
# batches (the sender sleeps until the next chunk is HANDOFF_AHEAD_S - HANDOFF_BATCH_S from
# due), so the writer always holds 0.1-0.2 s and the sender wakes ~10 times a second.
HANDOFF_AHEAD_S = 0.2
HANDOFF_BATCH_S = 0.1


@dataclass(slots=True)
class _Mark:
    name: str
    uid: int
    pos: int  # utterance byte position the mark follows
    final: bool = False


@dataclass
class PacerStats:
    """Counters a benchmark or test can read."""

    chunks_sent: int = 0
    marks_sent: int = 0
    marks_played: int = 0
    marks_cleared: int = 0
    dry_restarts: int = 0  # the clock found Twilio's buffer empty inside an utterance
    max_queued_s: float = 0.0  # the most unsent audio the pacer held at once
    read_pauses: int = 0  # times the read-ahead filled and a bound TTS had to wait
    max_read_ahead_s: float = 0.0  # the most audio queued or reserved when a TTS reserved


class AudioPacer(PassThroughProcessor):
    """Paces agent audio into Twilio in 20 ms chunks; tracks what the caller heard."""

    # Agent audio is queued here and sent by the pacer's own task: handling a frame only
    # appends to that queue, so it happens in the pusher's task (the end of a call waits for
    # the last echo there, as it did in this processor's own task).
    DIRECT = True

    def __init__(
        self,
        *,
        lead_ms: int = 400,
        mark_interval_ms: int = 250,
        mark_timeout_s: float = 2.0,
        read_ahead_ms: int = 1000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._lead_s = lead_ms / 1000
        self._mark_every = max(CHUNK_BYTES, int(mark_interval_ms / 1000 * BYTES_PER_S))
        self._mark_timeout_s = mark_timeout_s
        self.stats = PacerStats()
        self.heard = HeardText()
        self._queue: deque[_Chunk | _Mark] = deque()
        self._queued_bytes = 0  # audio in the queue
        self._reserved_bytes = 0  # audio a bound TTS has read and not yet handed on
        self._read_ahead = int(read_ahead_ms / 1000 * BYTES_PER_S) if read_ahead_ms else 0
        self._resume_below = max(0, self._read_ahead - int(READ_AHEAD_RESUME_S * BYTES_PER_S))
        self._room = asyncio.Event()  # set: a bound TTS may read on
        self._room.set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._sender: asyncio.Task | None = None
        self._generation = 0
        self._play_clock = 0.0
        self._speaking = False
        self._last_speaking_frame = 0.0
        self._outstanding: dict[str, _Mark] = {}
        self._unmarked: _Chunk | None = None  # the last chunk sent after the last mark
        # the utterance being received from upstream
        self._uid = 0
        self._open = False
        self._pos = 0  # PCM bytes queued for the current utterance
        self._pending = bytearray()
        self._last_mark_pos = 0
        self._base_ns: int | None = None
        self._sentence_mark_due = False
        self._mark_seq = 0
        self._writer: MediaWriter | None = None
        self._scheduler: SchedulingWriter | None = None  # the writer, when it has a clock
        # Called with each chunk's send lateness in seconds (the server's histogram).
        self.on_send_lateness: Callable[[float], None] | None = None

    def write_to(self, writer: MediaWriter) -> None:
        """Send chunks and marks through `writer` instead of pushing frames, and take their
        echoes straight from it (module doc)."""
        self._writer = writer
        writer.mark_receiver = self.take_echo
        if getattr(writer, "schedules", False):
            self._scheduler = writer  # type: ignore[assignment]

    async def wait_for_room(self) -> None:
        """Return once less unsent audio than the read-ahead is queued or reserved (at once
        when it is; always at once after the pacer has stopped)."""
        if not self._room.is_set():
            self.stats.read_pauses += 1
            await self._room.wait()

    def reserve(self, nbytes: int) -> None:
        """A bound TTS has read `nbytes` of audio that is on its way here."""
        self._reserved_bytes += nbytes
        ahead = (self._queued_bytes + self._reserved_bytes) / BYTES_PER_S
        self.stats.max_read_ahead_s = max(self.stats.max_read_ahead_s, ahead)
        self._update_room()

    def _update_room(self) -> None:
        """Close the room at the read-ahead, reopen it 200 ms below (module doc)."""
        ahead = self._queued_bytes + self._reserved_bytes
        if self._read_ahead and ahead >= self._read_ahead:
            if self._room.is_set() and not self._queued_bytes:
                # Closed by reservations alone: forget them if their audio never comes.
                asyncio.get_running_loop().call_later(
                    RESERVATION_EXPIRY_S, self._expire_reservations, self._generation
                )
            self._room.clear()
        elif ahead <= self._resume_below or not self._read_ahead:
            self._room.set()

    def _forget_reservations(self) -> None:
        self._reserved_bytes = 0
        self._update_room()

    def _expire_reservations(self, generation: int) -> None:
        if generation == self._generation and not self._queued_bytes:
            self._forget_reservations()

    def _stop_holding_readers(self, _sender: asyncio.Task) -> None:
        """The sender has ended, however: nothing drains the queue any more."""
        self._read_ahead = 0
        self._room.set()

    # -- frames in ------------------------------------------------------------------------

    async def handle(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, OutputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            self._take_audio(frame)
            return CONSUMED
        if isinstance(frame, TwilioMarkFrame):
            await self.take_echo(frame)
            return CONSUMED
        if isinstance(frame, InterruptionFrame):
            await self._interrupt(frame)
            return CONSUMED
        if isinstance(frame, TTSStartedFrame):
            self._begin_utterance()
        elif isinstance(frame, TTSStoppedFrame):
            self._end_utterance()
        elif isinstance(frame, TTSTextFrame):
            self._take_word(frame)
        elif isinstance(frame, StartFrame):
            self._sender = self.create_task(self._send_loop(), name="pacer-send")
            self._sender.add_done_callback(self._stop_holding_readers)
        elif isinstance(frame, EndFrame):
            await self._finish(frame)
            return CONSUMED
        elif isinstance(frame, CancelFrame):
            await self._stop_sender()
        return None

    def _begin_utterance(self) -> None:
        if self._open:
            self._end_utterance()
        self._uid += 1
        self._open = True
        self._pos = 0
        self._last_mark_pos = 0
        self._base_ns = None
        self._sentence_mark_due = False
        self.heard.start(self._uid)

    def _end_utterance(self) -> None:
        self._forget_reservations()  # what never arrived will not (module doc)
        if not self._open:
            return
        if self._pending:  # pad silence only here, at the utterance's end
            self._pending.extend(bytes(CHUNK_BYTES - len(self._pending)))
            self._enqueue_chunk(bytes(self._pending))
            self._pending.clear()
        self._queue_mark(final=True)
        self._open = False

    def _take_audio(self, frame: OutputAudioRawFrame) -> None:
        if frame.sample_rate != RATE or frame.num_channels != 1:
            logger.warning(f"{self}: dropping {frame.sample_rate} Hz/{frame.num_channels}ch audio")
            return
        if not self._open:
            self._begin_utterance()  # audio with no TTS bounds (e.g. cached phrases)
        if self._base_ns is None:
            self._base_ns = self.get_clock().get_time()
        self._reserved_bytes = max(0, self._reserved_bytes - len(frame.audio))
        if isinstance(frame, SpokenAudioFrame):  # a cached phrase's words, by offset
            start = self._pos + len(self._pending)
            for offset, text in frame.words:
                self.heard.add_word(self._uid, start + offset, text)
        self._pending.extend(frame.audio)
        while len(self._pending) >= CHUNK_BYTES:
            self._enqueue_chunk(bytes(self._pending[:CHUNK_BYTES]))
            del self._pending[:CHUNK_BYTES]
            if self._pos - self._last_mark_pos >= self._mark_every:
                self._queue_mark()

    def _enqueue_chunk(self, audio: bytes) -> None:
        self._pos += len(audio)
        self._queue.append((audio, self._uid, self._pos, time.monotonic()))
        self._queued_bytes += len(audio)
        self.stats.max_queued_s = max(self.stats.max_queued_s, self._queued_bytes / BYTES_PER_S)
        self._update_room()
        self.heard.add_audio(self._uid, len(audio))
        self._idle.clear()
        self._wake.set()

    def _queue_mark(self, *, final: bool = False) -> None:
        if not final and self._pos == self._last_mark_pos:
            return
        self._mark_seq += 1
        name = f"u{self._uid}-{'end' if final else self._mark_seq}"
        self._queue.append(_Mark(name, self._uid, self._pos, final))
        self._last_mark_pos = self._pos
        self._idle.clear()
        self._wake.set()

    def _take_word(self, frame: TTSTextFrame) -> None:
        if not self._open:
            return
        if frame.pts and self._base_ns is None:
            # pipecat releases the words it cached at the utterance's first audio chunk, just
            # before pushing that chunk: the word clock's baseline is "now".
            self._base_ns = self.get_clock().get_time()
        if frame.pts and self._base_ns is not None:
            offset = int((frame.pts - self._base_ns) * BYTES_PER_S / 1_000_000_000) & ~1
        else:
            offset = self._pos + len(self._pending)
        if self._sentence_mark_due:
            self._insert_sentence_mark(offset)
        self.heard.add_word(self._uid, offset, frame.text)
        self._sentence_mark_due = frame.text.rstrip().endswith(SENTENCE_ENDS)

    def _insert_sentence_mark(self, offset: int) -> None:
        """A mark where the next sentence starts, if that audio has not been sent yet."""
        self._sentence_mark_due = False
        if offset <= 0 or offset >= self._pos:
            return  # not queued yet: the interval marks will cover it
        for index, item in enumerate(self._queue):
            if not isinstance(item, tuple):
                continue  # a mark
            _audio, uid, end, _queued = item
            if uid == self._uid and end >= offset:
                self._mark_seq += 1
                mark = _Mark(f"u{self._uid}-s{self._mark_seq}", self._uid, end)
                self._queue.insert(index + 1, mark)
                return

    # -- marks and interruptions ----------------------------------------------------------

    async def take_echo(self, frame: TwilioMarkFrame) -> None:
        """Twilio echoed a mark: as a frame, or straight from the transport it writes to."""
        mark = self._outstanding.pop(frame.mark_name, None)
        if mark is None:
            return
        if frame.played:
            self.stats.marks_played += 1
            self.heard.played(mark.uid, mark.pos)
        else:
            self.stats.marks_cleared += 1
        if not self._queue and not self._outstanding:
            # The sender stops waiting for echoes, or, when audio was sent after this mark
            # (the TTS fell behind), marks it: the caller has not heard it yet.
            self._wake.set()
            if self._unmarked is None:
                await self._went_idle()

    async def _interrupt(self, frame: InterruptionFrame) -> None:
        if not (self._queue or self._outstanding or self._speaking):
            # Nothing sent is still unplayed: Twilio's buffer is empty, a clear would do nothing.
            frame.metadata[TWILIO_IDLE] = True
        self._generation += 1
        self._queue.clear()
        if self._scheduler is not None:  # handed over, not yet sent: gone before the clear
            self.stats.chunks_sent -= self._scheduler.drop_scheduled()
        self._queued_bytes = 0
        self._forget_reservations()
        self._pending.clear()
        self._open = False
        self._outstanding.clear()  # their echoes (caused by the clear) change nothing
        self._unmarked = None
        self._play_clock = 0.0
        self._idle.set()
        heard, spoken = self.heard.heard(), self.heard.spoken()
        await self.push_frame(frame, FrameDirection.DOWNSTREAM)  # -> transport sends clear
        if spoken:
            await self.push_frame(HeardTextFrame(text=heard, spoken=spoken, interrupted=True))
        self.heard.reset()
        await self._set_speaking(False)

    async def _set_speaking(self, speaking: bool) -> None:
        if speaking == self._speaking:
            return
        self._speaking = speaking
        if speaking:
            await self.broadcast_frame(BotStartedSpeakingFrame)
            self._last_speaking_frame = time.monotonic()
        else:
            await self.broadcast_frame(BotStoppedSpeakingFrame)

    async def _went_idle(self) -> None:
        """Twilio has played (or been told to drop) everything sent: the caller hears nothing."""
        self._idle.set()
        await self._set_speaking(False)
        if not self._open:
            # The speech run ends with its last utterance, not in a pause inside one (the TTS
            # behind mid-answer): a barge-in after that pause reports the whole answer's words.
            self.heard.reset()

    # -- sending --------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        while True:
            if not self._queue:
                # Dry: the room cannot stay closed on reservations alone (module doc).
                self._forget_reservations()
                if self._unmarked is not None and not self._outstanding:
                    # The TTS is behind: no echo would tell when this audio has played.
                    _audio, uid, end, _queued = self._unmarked
                    self._mark_seq += 1
                    await self._send_mark(_Mark(f"u{uid}-t{self._mark_seq}", uid, end))
                await self._wait_when_empty()
                continue
            item = self._queue.popleft()
            if isinstance(item, tuple):
                self._queued_bytes -= len(item[0])
                self._update_room()
            if isinstance(item, _Mark):
                await self._send_mark(item)
                continue
            await self._send_chunk(item)

    async def _send_mark(self, mark: _Mark) -> None:
        self._outstanding[mark.name] = mark
        self._unmarked = None
        self.stats.marks_sent += 1
        if self._writer is not None:
            await self._writer.write_mark(mark.name)
        else:
            await self.push_frame(OutputMarkFrame(mark_name=mark.name))

    async def _send_chunk(self, chunk: _Chunk) -> None:
        audio, _uid, _end, queued = chunk
        generation = self._generation
        now = time.monotonic()
        if self._play_clock < now:
            if self._speaking and self._outstanding and self._play_clock:
                self.stats.dry_restarts += 1
            self._play_clock = now
        send_at = self._play_clock - self._lead_s
        if self._scheduler is None:
            wait, batch = send_at - now, 0.0
        else:  # hand it over ahead of time, in batches (module doc)
            wait, batch = send_at - now - HANDOFF_AHEAD_S, HANDOFF_BATCH_S
        if wait > 0:
            await asyncio.sleep(wait + batch)
            if generation != self._generation:
                return  # interrupted while waiting: this audio is no longer wanted
        # Due at its clock time, or when it arrived if the TTS was behind the clock.
        due = max(send_at, queued)
        if self.on_send_lateness is not None and self._scheduler is None:
            self.on_send_lateness(max(0.0, time.monotonic() - due))
        await self._set_speaking(True)
        if generation != self._generation:
            return  # interrupted while announcing: the clear has gone out already
        if self._scheduler is not None:
            await self._scheduler.write_audio(
                audio, send_at, due=due, on_lateness=self.on_send_lateness
            )
        elif self._writer is not None:
            await self._writer.write_audio(audio)
        else:
            await self.push_frame(OutputAudioRawFrame(audio, RATE, 1))
        self.stats.chunks_sent += 1
        self._unmarked = chunk  # its uid and end, without a tuple per chunk
        self._play_clock += CHUNK_S
        now = time.monotonic()
        if now - self._last_speaking_frame >= BOT_SPEAKING_PERIOD_S:
            self._last_speaking_frame = now
            await self.broadcast_frame(BotSpeakingFrame)

    async def _wait_when_empty(self) -> None:
        """Nothing to send: wait for work, or give up on echoes Twilio never sends."""
        self._wake.clear()
        timeout = None
        if self._outstanding:
            timeout = max(0.0, self._play_clock - time.monotonic()) + self._mark_timeout_s
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            if not self._outstanding:
                return
            logger.warning(f"{self}: no echo for {len(self._outstanding)} mark(s); assuming played")
            for mark in self._outstanding.values():
                self.heard.played(mark.uid, mark.pos)
            self._outstanding.clear()
            self._unmarked = None  # assumed played with them
            await self._went_idle()

    async def _finish(self, frame: EndFrame) -> None:
        """End of call: play everything queued to the end (its marks echoed), then pass on."""
        self._end_utterance()
        remaining = len([i for i in self._queue if isinstance(i, tuple)]) * CHUNK_S
        timeout = remaining + max(0.0, self._play_clock - time.monotonic()) + self._mark_timeout_s
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            logger.warning(f"{self}: ending before the last audio was confirmed played")
        await self._stop_sender()
        await self._set_speaking(False)
        await self.push_frame(frame)

    async def _stop_sender(self) -> None:
        if self._sender:
            await self.cancel_task(self._sender)
            self._sender = None

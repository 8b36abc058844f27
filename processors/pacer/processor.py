"""AudioPacer (`audio_pacer` node): real-time pacing of the agent's audio, with Twilio marks.

Twilio plays whatever it has buffered; audio sent faster than real time piles up there and
can only be stopped with `clear`, and audio sent late is a gap the caller hears. The pacer
keeps Twilio's buffer at `lead_ms` (default 400 ms): enough to ride out event-loop stalls,
a full garbage collection among them, at a hundred calls in one process
(docs/decisions/pacer-lead-and-handoff.md). Lead costs nothing on barge-in: `clear`
empties Twilio's buffer whatever it holds, and what was heard is counted from the marks
Twilio echoes, not from what was sent.

- consumes: agent audio (`OutputAudioRawFrame`s of any size, 8 kHz PCM16),
  `TwilioMarkFrame` (echoes that came as frames), `InterruptionFrame`, `EndFrame`
- watches: `TTSStartedFrame` / `TTSStoppedFrame` (utterance bounds), `TTSTextFrame` (words,
  for what-was-heard accounting; a cached phrase's come in its `SpokenAudioFrame`); all
  forwarded unchanged
- writes to its media link (processors/media_link.py, bound by the pipeline assembly; the
  pacer is always the chain's last processor): exact 20 ms chunks against an absolute
  play-out clock, marks every `mark_interval_ms` of audio, at sentence ends and at each
  utterance's end, and `clear` on an interruption when anything is unplayed
- takes from the link: Twilio's mark echoes, and the end of the call's media
- produces: `BotStartedSpeakingFrame` / `BotSpeakingFrame` / `BotStoppedSpeakingFrame` (up
  and down) that follow what Twilio *played* (mark echoes), `HeardTextFrame` after an
  interruption; the `InterruptionFrame` and `EndFrame` go on downstream
- offers a bound TTS its read-ahead (`wait_for_room`, `reserve`; processors/pacer/read_ahead.py)
- params: lead_ms, mark_interval_ms, mark_timeout_s (how long to wait for echoes Twilio
  never sends before assuming the audio played), read_ahead_ms; `clock` (processors/clock.py)

Speaking and heard text: the agent stops "speaking" when Twilio has echoed every mark sent
and nothing is queued (processors/pacer/sender.py). A pause inside an utterance
(TTSStarted..TTSStopped: in pipecat 1.14 one per LLM reply, whatever the TTS) ends the
speaking, not the utterance's heard-text accounting, so a barge-in after the pause reports
every word heard before it too.

The parts: chunker.py (20 ms chunks and mark placement), playout.py (the play-out clock),
ledger.py (marks outstanding, heard text), read_ahead.py (room and reservations),
sender.py (the task that hands chunks to the link). This module routes frames to them.
"""

from __future__ import annotations

import asyncio

from loguru import logger
from pipecat.frames.frames import (
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

from processors.clock import LOOP_CLOCK, Clock
from processors.frames import HeardTextFrame, SpokenAudioFrame, TwilioMarkFrame
from processors.heard_text import HeardText
from processors.media_link import MediaLink
from processors.pacer.chunker import Chunker
from processors.pacer.ledger import MarkLedger
from processors.pacer.playout import PlayoutClock
from processors.pacer.read_ahead import ReadAheadRoom
from processors.pacer.sender import Sender
from processors.pacer.stats import BYTES_PER_S, CHUNK_BYTES, CHUNK_S, RATE, PacerStats
from processors.passthrough import CONSUMED, PassThroughProcessor


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
        clock: Clock = LOOP_CLOCK,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._clock = clock
        self._mark_timeout_s = mark_timeout_s
        self.stats = PacerStats()
        self._wake = asyncio.Event()  # set: the sender has work (or should look again)
        self._idle = asyncio.Event()  # set: nothing queued or unplayed
        self._idle.set()
        self._room = ReadAheadRoom(read_ahead_ms, clock, self.stats)
        self._ledger = MarkLedger(self.stats)
        self._playout = PlayoutClock(lead_ms / 1000, self.stats)
        self._chunker = Chunker(
            mark_every=max(CHUNK_BYTES, int(mark_interval_ms / 1000 * BYTES_PER_S)),
            heard=self._ledger.heard,
            room=self._room,
            now=clock.now,
            pipeline_ns=lambda: self.get_clock().get_time(),
            wake=self._wake,
            idle=self._idle,
        )
        self._sender = Sender(
            chunker=self._chunker,
            room=self._room,
            playout=self._playout,
            ledger=self._ledger,
            clock=clock,
            stats=self.stats,
            wake=self._wake,
            idle=self._idle,
            mark_timeout_s=mark_timeout_s,
            broadcast=self.broadcast_frame,
            name=str(self),
        )
        self._sender_task: asyncio.Task | None = None

    @property
    def heard(self) -> HeardText:
        return self._ledger.heard

    @property
    def on_send_lateness(self):
        """Called with each chunk's send lateness in seconds (the server's histogram)."""
        return self._sender.on_lateness

    @on_send_lateness.setter
    def on_send_lateness(self, observe) -> None:
        self._sender.on_lateness = observe

    def link_to(self, link: MediaLink) -> None:
        """Write to `link` and take its mark echoes (the pipeline assembly binds this)."""
        self._sender.link = link
        link.subscribe(self)

    # -- the read-ahead a bound TTS waits on (agent/nodes/cartesia.py)

    async def wait_for_room(self) -> None:
        await self._room.wait_for_room()

    def reserve(self, nbytes: int) -> None:
        self._room.reserve(nbytes)

    # -- frames in ------------------------------------------------------------------------

    async def handle(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, OutputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            if frame.sample_rate != RATE or frame.num_channels != 1:
                logger.warning(f"{self}: dropping {frame.sample_rate} Hz/{frame.num_channels}ch")
            elif isinstance(frame, SpokenAudioFrame):  # a cached phrase's words, by offset
                self._chunker.take_audio(frame.audio, frame.words)
            else:
                self._chunker.take_audio(frame.audio)
            return CONSUMED
        if isinstance(frame, TwilioMarkFrame):
            await self.take_echo(frame)
            return CONSUMED
        if isinstance(frame, InterruptionFrame):
            await self._interrupt(frame)
            return CONSUMED
        if isinstance(frame, TTSStartedFrame):
            self._chunker.begin()
        elif isinstance(frame, TTSStoppedFrame):
            self._chunker.end()
        elif isinstance(frame, TTSTextFrame):
            self._chunker.take_word(frame.text, frame.pts)
        elif isinstance(frame, StartFrame):
            self._start_sender()
        elif isinstance(frame, EndFrame):
            await self._finish(frame)
            return CONSUMED
        elif isinstance(frame, CancelFrame):
            await self._stop_sender()
        return None

    def _start_sender(self) -> None:
        if self._sender.link is None:
            raise RuntimeError(
                f"{self} has no media link: the pipeline assembly binds one (link_to), "
                "and the pacer is the chain's last processor"
            )
        self._sender_task = self.create_task(self._sender.run(), name="pacer-send")
        self._sender_task.add_done_callback(lambda _task: self._room.stop())

    # -- from the link --------------------------------------------------------------------

    async def take_echo(self, frame: TwilioMarkFrame) -> None:
        """Twilio echoed a mark: straight from the link (or as a frame)."""
        if not self._ledger.echo(frame.mark_name, frame.played):
            return
        if not self._chunker.queue and not self._ledger.outstanding:
            # The sender stops waiting for echoes, or, when audio was sent after this mark
            # (the TTS fell behind), marks it: the caller has not heard it yet.
            self._wake.set()
            if self._ledger.unmarked is None:
                await self._sender.went_idle()

    def media_ended(self) -> None:
        """The caller hung up or the socket closed: no echo will come, nothing waits for one."""
        self._ledger.forget()
        self._idle.set()
        self._wake.set()

    # -- interruptions and the end of the call --------------------------------------------

    async def _interrupt(self, frame: InterruptionFrame) -> None:
        # Anything sent still unplayed? Else Twilio's buffer is empty: a clear would do nothing.
        unplayed = bool(self._chunker.queue or self._ledger.outstanding or self._sender.speaking)
        self._sender.generation += 1
        self._chunker.drop()
        link = self._sender.link
        if link is not None:  # handed over, not yet sent: gone before the clear
            self.stats.chunks_sent -= link.drop_scheduled()
        self._room.drop_queue()
        self._ledger.forget()  # the echoes the clear causes change nothing
        self._playout.reset()
        self._idle.set()
        heard, spoken = self.heard.heard(), self.heard.spoken()
        if unplayed and link is not None:
            await link.clear()
        await self.push_frame(frame, FrameDirection.DOWNSTREAM)
        if spoken:
            await self.push_frame(HeardTextFrame(text=heard, spoken=spoken, interrupted=True))
        self.heard.reset()
        await self._sender.set_speaking(False)

    async def _finish(self, frame: EndFrame) -> None:
        """End of call: play everything queued to the end (its marks echoed), then pass on."""
        self._chunker.end()
        remaining = self._chunker.queued_chunks() * CHUNK_S
        timeout = remaining + self._playout.remaining(self._clock.now()) + self._mark_timeout_s
        if not await self._clock.wait(self._idle, timeout):
            logger.warning(f"{self}: ending before the last audio was confirmed played")
        await self._stop_sender()
        await self._sender.set_speaking(False)
        await self.push_frame(frame)

    async def _stop_sender(self) -> None:
        if self._sender_task:
            await self.cancel_task(self._sender_task)
            self._sender_task = None

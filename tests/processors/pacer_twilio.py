"""A call around a pacer, on virtual time: the pacer's media link is a small "Twilio".

`FakeTwilio` is a `MediaLink` over a real `SendClock` outlet (agent/twilio/send_clock.py),
both on a `FakeClock`: the outlet's transport plays what it is written in real time and
echoes each mark to the pacer when the audio before it has played (on `clear`, at once,
unplayed). `PacerCall` runs upstream log ! pacer ! sink in a pipecat worker; everything is
timed on the fake clock, so no test sleeps on the wall clock.
"""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import EndFrame, Frame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from agent.adapters import engine
from agent.twilio.send_clock import SendClock, text_frame
from processors.clock import FakeClock
from processors.frames import TwilioMarkFrame
from processors.media_link import MarkSubscriber
from processors.pacer import AudioPacer

SECOND = 16000  # bytes of 8 kHz PCM16


class FakeTwilio:
    """The call's media link as Twilio plays it (module doc)."""

    def __init__(self, clock: FakeClock, *, echo: bool = True):
        self.clock = clock
        self.echo = echo
        self.subscriber: MarkSubscriber | None = None
        self.outlet = SendClock(clock=clock).open(self)
        self.handed_over: list[float] = []  # when the pacer handed each chunk over
        self.written: list[tuple[float, str, bytes | str]] = []
        self.clears: list[float] = []
        self.play_end = 0.0
        self._pending: dict[str, object] = {}  # mark -> its echo's timer

    # -- the media link, as the pacer sees it
    def send_audio(self, pcm, at, due, on_lateness) -> bool:
        self.handed_over.append(self.clock.now())
        return self.outlet.send(text_frame("a" + pcm.hex()), at, due=due, on_lateness=on_lateness)

    def send_mark(self, name: str) -> bool:
        return self.outlet.send(text_frame("m" + name))

    def drop_scheduled(self) -> int:
        return self.outlet.drop_unsent()

    async def clear(self) -> bool:
        now = self.clock.now()
        self.clears.append(now)
        self.play_end = now
        pending, self._pending = self._pending, {}
        for name, timer in pending.items():
            timer.cancel()
            self._echo(name, False)
        return True

    def subscribe(self, subscriber: MarkSubscriber) -> None:
        self.subscriber = subscriber

    # -- the asyncio transport, as the outlet sees it
    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        now = self.clock.now()
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
                name = text[1:]
                self.written.append((now, "mark", name))
                if self.echo:
                    delay = max(0.0, self.play_end - now)
                    self._pending[name] = self.clock.call_later(delay, self._played, name)

    def _played(self, name: str) -> None:
        if self._pending.pop(name, None) is not None:
            self._echo(name, True)

    def _echo(self, name: str, played: bool) -> None:
        frame = TwilioMarkFrame(mark_name=name, played=played)
        asyncio.ensure_future(self.subscriber.take_echo(frame))

    # -- what the caller got
    def audio(self) -> list[tuple[float, bytes]]:
        return [(t, p) for t, kind, p in self.written if kind == "audio"]

    def marks(self) -> list[str]:
        return [p for _, kind, p in self.written if kind == "mark"]

    def heard(self) -> bytes:
        return b"".join(p for _, p in self.audio())


class Recorder(FrameProcessor):
    """Records the frames going past (downstream, or upstream with `upstream=True`)."""

    def __init__(self, clock: FakeClock, *, upstream: bool = False):
        super().__init__(enable_direct_mode=True)
        self.clock = clock
        self.direction = FrameDirection.UPSTREAM if upstream else FrameDirection.DOWNSTREAM
        self.frames: list[tuple[float, Frame]] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if direction == self.direction:
            self.frames.append((self.clock.now(), frame))
        await self.push_frame(frame, direction)

    def of(self, kind) -> list[tuple[float, Frame]]:
        return [(t, f) for t, f in self.frames if isinstance(f, kind)]


class PacerCall:
    """upstream ! pacer ! downstream, the pacer bound to a FakeTwilio; all on one FakeClock."""

    def __init__(self, *, echo: bool = True, **pacer_args):
        self.clock = FakeClock()
        self.pacer = AudioPacer(clock=self.clock, **pacer_args)
        self.twilio = FakeTwilio(self.clock, echo=echo)
        self.pacer.link_to(self.twilio)
        self.upstream = Recorder(self.clock, upstream=True)
        self.down = Recorder(self.clock)
        self.worker = engine.make_worker([self.upstream, self.pacer, self.down])
        self.runner: asyncio.Future | None = None

    async def start(self) -> PacerCall:
        self.runner = asyncio.ensure_future(engine.run_worker(self.worker))
        await self.clock.advance(0.05)
        return self

    async def play(self, steps: list) -> None:
        """Frames are queued; a number advances the clock that many seconds."""
        for step in steps:
            if isinstance(step, (int, float)):
                await self.clock.advance(step)
            else:
                await self.worker.queue_frame(step)
                await self.clock.settle()

    async def end(self, wait: float = 0.0) -> None:
        await self.clock.advance(wait)
        await self.worker.queue_frame(EndFrame())
        await self.clock.run_until(self.runner)


async def run(steps: list, *, wait: float = 0.0, echo: bool = True, **pacer_args) -> PacerCall:
    call = await PacerCall(echo=echo, **pacer_args).start()
    await call.play(steps)
    await call.end(wait)
    return call

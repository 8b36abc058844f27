"""What the emulated caller does during a call: a script is a list of steps run in order.

The emulator streams caller audio (or mu-law silence) every 20 ms no matter what the script is
doing; steps only decide *what* goes into that stream and *when*, by watching what the caller
hears (the playback of the agent's audio). Steps are plain frozen dataclasses so scripts can be
built in tests, loaded from files by the CLI, and printed in failure messages.

    script = [
        WaitForAgentSilence(),                 # let the greeting finish
        Say(load_ulaw("tests/fixtures/audio/who_are_you.ulaw"), "who are you"),
        WaitForAgentAudio(),
        BargeIn(after_ms=500, audio=load_ulaw(".../wait_stop.ulaw"), text="wait stop"),
        WaitForAgentSilence(),
        HangUp(),
    ]

``run_script`` executes a script against a ``CallerLine`` (the emulator's call session).
A wait that times out does not raise: it is recorded in ``CallResult.timeouts`` (and the
timeline) and the script goes on, so a test still gets the whole call to look at.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agent.sim.playback import Playback


@dataclass(frozen=True)
class Say:
    """Speak ``audio`` (raw mu-law, 8 kHz, mono) in real time, starting on the next 20 ms frame.

    The step ends when the last byte has been sent; mu-law silence follows.
    """

    audio: bytes = field(repr=False)
    text: str = ""

    @classmethod
    def from_file(cls, path: str | Path, text: str = "") -> Say:
        """A ``Say`` of a raw ``.ulaw`` file; ``text`` defaults to the file's stem."""
        return cls(load_ulaw(path), text or Path(path).stem.replace("_", " "))


@dataclass(frozen=True)
class Pause:
    """Do nothing (silence keeps streaming) for ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class WaitForAgentAudio:
    """Wait until the agent's audio is playing (returns at once if it already is)."""

    timeout: float = 10.0


@dataclass(frozen=True)
class WaitForAgentSilence:
    """Wait until the agent has finished: nothing played and nothing buffered for ``quiet``
    seconds (so a short stutter inside an utterance does not count), then wait ``pause`` more
    seconds, as a person would before answering."""

    pause: float = 0.5
    timeout: float = 20.0
    quiet: float = 0.6


@dataclass(frozen=True)
class BargeIn:
    """Interrupt: wait until the agent's audio plays, then ``after_ms`` later speak ``audio``
    over it."""

    after_ms: int
    audio: bytes = field(repr=False)
    text: str = ""
    timeout: float = 10.0


@dataclass(frozen=True)
class Dtmf:
    """Press a key: Twilio's ``dtmf`` message with ``digit`` (0-9, *, #)."""

    digit: str


@dataclass(frozen=True)
class SendRaw:
    """Send an arbitrary WebSocket message (str as text, bytes as binary), for malformed-input
    tests. It does not use up a sequence number."""

    data: str | bytes = field(repr=False)


@dataclass(frozen=True)
class WaitForStream:
    """Wait until the call is on its ``number``-th media stream: after a transfer nobody
    answered, Twilio connects a new stream (same CallSid) and the caller talks on there."""

    number: int = 2
    timeout: float = 30.0


@dataclass(frozen=True)
class HangUp:
    """The caller hangs up: Twilio sends ``stop`` and closes the socket. Remaining steps are
    skipped; the end of the script does the same."""


Step = (
    Say
    | Pause
    | WaitForAgentAudio
    | WaitForAgentSilence
    | BargeIn
    | Dtmf
    | SendRaw
    | WaitForStream
    | HangUp
)
Script = list[Step]


def load_ulaw(path: str | Path) -> bytes:
    """Read a raw mu-law file (8 kHz mono, no header), e.g. ``tests/fixtures/audio/*.ulaw``."""
    return Path(path).read_bytes()


def describe(step: Step) -> str:
    """A short human description of a step for timelines and failure messages."""
    text = getattr(step, "text", "")
    return f"{type(step).__name__}({text!r})" if text else repr(step)


class CallerLine(Protocol):
    """What script steps need from a call in progress (``call.CallSession`` provides it)."""

    playback: Playback
    streams: int  # media streams opened so far on this call (1, more after a transfer)

    def now(self) -> float: ...
    async def say(self, audio: bytes, text: str) -> None: ...
    async def send_dtmf(self, digit: str) -> None: ...
    async def send_raw(self, data: str | bytes) -> None: ...
    async def wait_change(self, timeout: float) -> None: ...
    def record_timeout(self, what: str) -> None: ...


async def run_script(script: Script, line: CallerLine) -> None:
    """Run the steps in order; return at ``HangUp`` or the end (the caller then hangs up)."""
    for step in script:
        if isinstance(step, HangUp):
            return
        await _run_step(step, line)


async def _run_step(step: Step, line: CallerLine) -> None:
    pb = line.playback
    if isinstance(step, Say):
        await line.say(step.audio, step.text)
    elif isinstance(step, Pause):
        await asyncio.sleep(step.seconds)
    elif isinstance(step, WaitForAgentAudio | BargeIn):
        runs_before = len(pb.segments)  # audio that started and stopped between checks counts
        started = await _wait(line, step, lambda: pb.playing or len(pb.segments) > runs_before)
        if started and isinstance(step, BargeIn):
            await asyncio.sleep(step.after_ms / 1000)
            await line.say(step.audio, step.text)
    elif isinstance(step, WaitForAgentSilence):
        began = line.now()

        def quiet_left() -> float:
            """Seconds of quiet still needed (nothing played yet: quiet since the step began)."""
            if not pb.quiet:
                return step.quiet
            last = pb.last_audio_end
            return step.quiet - (line.now() - (began if last is None else last))

        # Staying quiet long enough is no playback change, hence the timed re-check.
        if await _wait(line, step, lambda: quiet_left() <= 0, recheck_in=quiet_left):
            await asyncio.sleep(step.pause)
    elif isinstance(step, Dtmf):
        await line.send_dtmf(step.digit)
    elif isinstance(step, SendRaw):
        await line.send_raw(step.data)
    elif isinstance(step, WaitForStream):
        await _wait(line, step, lambda: line.streams >= step.number)
    else:
        raise TypeError(f"not a script step: {step!r}")


async def _wait(
    line: CallerLine,
    step: WaitForAgentAudio | WaitForAgentSilence | BargeIn | WaitForStream,
    condition: Callable[[], bool],
    recheck_in: Callable[[], float] | None = None,
) -> bool:
    """Wait until ``condition()`` holds, re-checking on every playback change (and after
    ``recheck_in()`` seconds); False, with the timeout recorded, after ``step.timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + step.timeout
    while not condition():
        remaining = deadline - loop.time()
        if remaining <= 0:
            line.record_timeout(describe(step))
            return False
        if recheck_in is not None:
            remaining = min(remaining, max(recheck_in(), 0.001))
        await line.wait_change(remaining)
    return True

"""The channels the pacer uses besides frames: the media link out, mark echoes back, and
the read-ahead it offers a streaming TTS.

The pacer (processors/pacer/) is the last processor before transport out and the only
one that writes the agent's audio: its 20 ms chunks and marks go straight to the call's
socket through a `MediaLink`, not as frames through pipecat's output transport (a frame
crossing it costs two queue hand-offs, a task wake-up and an `asyncio.wait_for` task, 50
times a second per speaking call). The link writes each chunk at the time it is due on
its own send clock, so the pacer hands chunks over ahead of time, in batches.

The link hands Twilio's echoes of those marks straight back to its subscriber (the
pacer), instead of as frames through every processor before it, and tells it when the
call's media has ended (the caller hung up or the socket closed: no echo will come).

A TTS that streams over a socket (Cartesia, agent/nodes/cartesia.py) reads its stream at
the pace the pacer plays the audio out, through the pacer's `ReadAhead`
(processors/pacer/read_ahead.py says why).

The pipeline assembly (agent/app/pipeline.py) binds pacer and link (`AudioPacer.link_to`)
and TTS and read-ahead (`NodeBuild.take_read_ahead`) explicitly; the node types declare
these channels (agent/graph/registry.py CHANNELS), so `graph show` draws them.
agent/twilio/transport.py implements the link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # a protocol module: importing it loads no pipecat
    from processors.frames import TwilioMarkFrame


class MarkSubscriber(Protocol):
    """Who the link hands Twilio's mark echoes to (the pacer)."""

    async def take_echo(self, frame: TwilioMarkFrame) -> None:
        """Twilio played (or, after a `clear`, dropped) the audio before this mark."""
        ...

    def media_ended(self) -> None:
        """The call's media is over (hung up, socket gone): no more echoes will come."""
        ...


class MediaLink(Protocol):
    """Where the pacer writes: the call's media stream. Sends return False once the socket
    is gone (a hang-up is not an error)."""

    def send_audio(
        self, pcm: bytes, at: float, due: float, on_lateness: Callable[[float], None] | None
    ) -> bool:
        """Write 20 ms of 8 kHz PCM16 at time `at` (the pacer's clock), after everything
        handed over before it; `on_lateness(s)` gets how long after `due` it was written."""
        ...

    def send_mark(self, name: str) -> bool:
        """A mark right after the audio handed over before it."""
        ...

    def drop_scheduled(self) -> int:
        """Forget what was handed over and not yet written (a barge-in); how many chunks."""
        ...

    async def clear(self) -> bool:
        """Tell Twilio to drop the audio it holds (it echoes every pending mark, unplayed)."""
        ...

    def subscribe(self, subscriber: MarkSubscriber) -> None:
        """Hand mark echoes and the end of the call's media to `subscriber`."""
        ...


class ReadAhead(Protocol):
    """The pacer's read-ahead, as a streaming TTS waits on it."""

    async def wait_for_room(self) -> None:
        """Return once less unsent audio than the read-ahead is queued or reserved."""
        ...

    def reserve(self, nbytes: int) -> None:
        """`nbytes` of audio were read and are on their way to the pacer."""
        ...

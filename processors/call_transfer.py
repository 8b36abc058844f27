"""CallTransfers: the call controller's transfers — cold (phrase, then <Dial>) and warm (hold).

Part of the call controller (processors/call_control.py), which owns one as `transfers` and
hands it every frame direction it sees; the controller's state it changes (the call is
ending, its hang-up reason, the time limit, the idle timer) it changes only through
`CallLine`, the typed seam the controller implements.

- `start(frame)`: a `TransferCallFrame` (route, keypad, LLM tool, operator) to a
  destination the bound `find` knows (agent/graph/resolved.py `Graph.transfer_destination`):
  - cold: fire `on_transfer` with a `TransferRequest`, say the transfer phrase; once it has
    played (processors/speaking.py), run the bound `hand_off_now` (the REST update with
    Twilio's <Dial>, agent/app/transfer_call.py) and end the pipeline with reason
    "transfer"; refused, `failed()` tells the caller and the conversation goes on. With no
    hand-off bound, end the pipeline at once: the transport hands off at the end.
  - warm (a destination marked `warm`, with a HoldMusic bound by `bind_hold`): fire
    `on_transfer`, say the hold phrase and hold the caller (processors/hold_music.py) while
    the person is asked (agent/app/warm_transfer.py), which ends in `warm_accepted()` (the
    `hold_connected` phrase, then the end with reason "transfer") or `warm_failed()`.
- `failed(offer_message=...)`: the caller hears `transfer_failed` (graphs taking messages:
  as an offer to take one) and the call is a conversation again; a later transfer may try.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Protocol

from loguru import logger
from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection

from processors.clock import Clock
from processors.frames import TransferCallFrame
from processors.hold_music import HoldMusic
from processors.speaking import SpeakingState


@dataclass(frozen=True)
class TransferRequest:
    """A transfer the controller started: where to, why, and which way in."""

    name: str  # the destination's name in the graph's `transfer:`
    to: str  # the number dialled
    ring_timeout_s: int
    caller_id: str | None
    via: str  # "route" | "dtmf" | "llm" | "operator"
    reason: str
    warm: bool = False  # the caller holds while the person is asked (agent/app/warm_transfer.py)
    accept_timeout_s: int = 20  # warm: how long the person has to accept


# name (None: the first) -> (name, destination with .to, .ring_timeout_s, .caller_id) or None
FindDestination = Callable[[str | None], tuple[str, object] | None]


class CallLine(Protocol):
    """What a transfer needs from the call controller it belongs to."""

    @property
    def ending(self) -> bool:
        """Is the call ending (hanging up, or a transfer under way)?"""

    def leave_conversation(self, hang_up_reason: str | None, *, keep_time_limit: bool) -> None:
        """No more prompts: the call is ending, with this hang-up reason (None: not yet known);
        `keep_time_limit`: the call may come back, its time limit still counts."""

    def return_to_conversation(self) -> None:
        """The transfer did not happen: the call is a conversation again."""

    async def announce_transfer(self, request: TransferRequest) -> None:
        """Fire the controller's `on_transfer` (handled before anything is said)."""

    async def say(self, text: str) -> None: ...

    async def offer_message(self, reason: str, say: str) -> None: ...

    async def end_pipeline(self, reason: str) -> None:
        """Queue the end of the pipeline behind what was said."""

    def create_task(self, coroutine: Coroutine, name: str | None = None) -> asyncio.Task: ...


class CallTransfers:
    """One call's transfers: see the module docstring."""

    def __init__(self, line: CallLine, settings, find: FindDestination | None, clock: Clock):
        self._line = line
        self._settings = settings
        self._find = find
        self._clock = clock
        self.request: TransferRequest | None = None  # the transfer under way
        self._hold: HoldMusic | None = None  # for warm transfers (bind_hold)
        self._speech = SpeakingState()  # has the transfer phrase played?
        # A cold transfer's REST update, run once its phrase has played (True: done; False:
        # refused, and the caller was told). None: the transport runs it at the end.
        self.hand_off_now: Callable[[], Awaitable[bool]] | None = None

    def on_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Every frame the controller sees (the phrase's speaking frames, upstream)."""
        self._speech.on_frame(frame, direction)

    def bind_hold(self, hold: HoldMusic) -> None:
        """The call's HoldMusic (processors/hold_music.py): warm transfers hold with it."""
        self._hold = hold

    @property
    def holding(self) -> bool:
        return self._hold is not None and self._hold.holding

    def can_start(self, destination: str | None) -> bool:
        """Is `destination` (None: the graph's first) set, and the call not ending?"""
        found = self._find(destination) if self._find else None
        return found is not None and not self._line.ending

    async def start(self, frame: TransferCallFrame) -> bool:
        """Start the transfer `frame` asks for (module docstring). False (nothing done) when
        the destination is not set or the call is ending."""
        found = self._find(frame.destination) if self._find else None
        if found is None or self._line.ending:
            logger.warning(
                f"{self._line}: no transfer to {frame.destination or 'the first destination'}"
            )
            return False
        name, destination = found
        warm = destination.warm and self._hold is not None
        # Warm, or a hand-off that may be refused: the call may come back, its limit stays.
        self._line.leave_conversation(
            None if warm else "transfer", keep_time_limit=warm or self.hand_off_now is not None
        )
        self.request = TransferRequest(
            name,
            destination.to,
            destination.ring_timeout_s,
            destination.caller_id,
            frame.via,
            frame.reason[:200],
            warm=warm,
            accept_timeout_s=destination.accept_timeout_s,
        )
        if warm:
            return await self._start_warm()
        logger.info(f"{self._line}: transferring to {name} ({frame.via})")
        await self._line.announce_transfer(self.request)
        await self._line.say(frame.say if frame.say is not None else self._settings.transfer_phrase)
        if self.hand_off_now is None:
            await self._line.end_pipeline("transfer")
        else:
            self._line.create_task(self._hand_off_when_played(), name="transfer-hand-off")
        return True

    async def _hand_off_when_played(self) -> None:
        """The phrase has played: update the call (the bound hand-off). Done: end the
        pipeline (Twilio ends the stream too). Refused: the hand-off told the caller; the
        conversation goes on."""
        await self._speech.played(self._clock)
        if await self.hand_off_now():
            await self._line.end_pipeline("transfer")

    async def failed(self, *, offer_message: bool) -> None:
        """A transfer could not be made (the REST update was refused): the caller hears
        `transfer_failed`, then (graphs taking messages) a yes to it starts the dialog."""
        self._line.return_to_conversation()
        self.request = None
        if offer_message:
            await self._line.offer_message("transfer_failed", self._settings.transfer_failed)
        else:
            await self._line.say(self._settings.transfer_failed)

    async def _start_warm(self) -> bool:
        logger.info(f"{self._line}: warm transfer to {self.request.name} ({self.request.via})")
        await self._line.announce_transfer(self.request)  # the person's leg is called
        await self._line.say(self._settings.hold_phrase)
        await self._hold.start()
        return True

    async def warm_accepted(self) -> None:
        """The person took the call: the music stops, the caller hears `hold_connected` to
        its end, then the pipeline ends with reason "transfer" (the transport's hand-off
        moves the call into the conference)."""
        if not self.holding:
            return
        await self._hold.stop()
        self._line.leave_conversation("transfer", keep_time_limit=False)
        await self._line.say(self._settings.hold_connected)
        await self._line.end_pipeline("transfer")

    async def warm_failed(self, *, offer_message: bool) -> None:
        """Nobody took the call: the music stops, the caller hears `transfer_failed`, then
        (graphs taking messages) a yes to its offer starts the message dialog. The
        conversation goes on."""
        if not self.holding:
            return
        await self._hold.stop()
        await self.failed(offer_message=offer_message)

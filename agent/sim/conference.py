"""Twilio's conferences, as far as a warm transfer's two legs go.

A call updated with `<Dial><Conference>NAME</Conference></Dial>` leaves its media stream
and joins conference NAME (agent/sim/dial.py for the caller's call, agent/sim/outbound.py
for a created call). The emulator keeps who joined which conference, in order
(`members`), so a test can check both legs met in the same one. A conference ends when a
member leaves (with `endConferenceOnExit`, as Switchboard sets it): `end(name)`; joining
waits for that, at most `MAX_WAIT_S`.
"""

from __future__ import annotations

import asyncio
import contextlib

MAX_WAIT_S = 120.0


class Conferences:
    """The conferences of one emulated Twilio account."""

    def __init__(self) -> None:
        self.members: dict[str, list[str]] = {}  # name -> CallSids, in the order they joined
        self._ended: dict[str, asyncio.Event] = {}
        self._changed = asyncio.Event()

    def _event(self, name: str) -> asyncio.Event:
        return self._ended.setdefault(name, asyncio.Event())

    async def join(self, name: str, call_sid: str, timeout: float = MAX_WAIT_S) -> None:
        """`call_sid` joins `name`; returns when the conference ends (or `timeout`)."""
        self.members.setdefault(name, []).append(call_sid)
        self._changed.set()
        self._changed = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event(name).wait(), timeout)

    async def wait_members(self, name: str, count: int, timeout: float) -> bool:
        """Until `name` has `count` members; whether it did in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.members.get(name, ())) < count:
            left = deadline - loop.time()
            if left <= 0:
                return False
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                return False
        return True

    def end(self, name: str) -> None:
        """A member left: the conference is over for everyone in it."""
        self._event(name).set()

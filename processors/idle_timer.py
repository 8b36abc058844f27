"""IdleTimer: the caller has said nothing for `timeout_s` since the agent stopped speaking.

pipecat's UserIdleController's rules, on an injected clock (processors/clock.py) so the
call controller's tests run on virtual time: the timer starts when the agent's audio has
finished *playing* (the pacer's mark-driven BotStoppedSpeakingFrame), unless the caller
is mid-turn or function calls are pending; the agent or the caller starting to speak, or
a function call starting, stops it. A `UserIdleTimeoutUpdateFrame` changes the timeout
(0: off), at once when the timer is waiting for the caller.
"""

from __future__ import annotations

from collections.abc import Callable

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    FunctionCallCancelFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    UserIdleTimeoutUpdateFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)

from processors.clock import Clock, Timer

SILENCE_TIMEOUT_FACTOR = 3  # the seed prompted after three times SILENCE_TIMEOUT_SECONDS


def idle_timeout_s(settings, silence_timeout_s: float | None) -> float:
    """The idle prompt's delay for a call: the graph's own `call.idle_timeout_s` when its file
    sets it, else three times SILENCE_TIMEOUT_SECONDS when that is set, else the default."""
    if "idle_timeout_s" in settings.model_fields_set or silence_timeout_s is None:
        return settings.idle_timeout_s
    return SILENCE_TIMEOUT_FACTOR * silence_timeout_s


class IdleTimer:
    """Calls `on_idle()` once the caller has been idle `timeout_s` after the agent spoke."""

    def __init__(self, timeout_s: float, clock: Clock, on_idle: Callable[[], None]):
        self._timeout_s = timeout_s
        self._clock = clock
        self._on_idle = on_idle
        self._timer: Timer | None = None
        self._waiting_for_user = False
        self._user_turn = False
        self._function_calls = 0

    @property
    def running(self) -> bool:
        return self._timer is not None

    def on_frame(self, frame: Frame) -> None:
        if isinstance(frame, UserIdleTimeoutUpdateFrame):
            self._timeout_s = frame.timeout
            if self._timeout_s <= 0:
                self.stop()
            elif self._waiting_for_user:
                self._start()
        elif isinstance(frame, BotStoppedSpeakingFrame):
            if not self._user_turn and self._function_calls == 0:
                self._waiting_for_user = True
                self._start()
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._waiting_for_user = False
            self.stop()
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._waiting_for_user = False
            self._user_turn = True
            self.stop()
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self._user_turn = False
        elif isinstance(frame, FunctionCallsStartedFrame):
            self._waiting_for_user = False
            self._function_calls += len(frame.function_calls)
            self.stop()
        elif isinstance(frame, (FunctionCallResultFrame, FunctionCallCancelFrame)):
            self._function_calls = max(0, self._function_calls - 1)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _start(self) -> None:
        if self._timeout_s <= 0:
            return
        self.stop()
        self._timer = self._clock.call_later(self._timeout_s, self._expired)

    def _expired(self) -> None:
        self._timer = None
        self._on_idle()

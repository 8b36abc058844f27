"""IdleTimer: the caller has said nothing for `timeout_s` since the agent stopped speaking.

pipecat's UserIdleController's rules, on an injected clock (processors/clock.py) so the
call controller's tests run on virtual time: the timer starts when the agent's audio has
finished *playing* (the pacer's mark-driven BotStoppedSpeakingFrame), unless the caller
is mid-turn or function calls are pending; the agent or the caller starting to speak, or
a function call starting, stops it. A `UserIdleTimeoutUpdateFrame` changes the timeout
(0: off), at once when the timer is waiting for the caller.

It also guards every caller turn (issue 20): once a turn ends (UserStoppedSpeakingFrame), the
agent must start speaking within ANSWER_TIMEOUT_S (BotStartedSpeakingFrame: the first audio
sent), else `on_unanswered()` runs and the call controller says the graph's `fallback`. A
turn nothing answered (Whisper heard no words, a reply lost on the way) otherwise left the
call silent until the caller spoke again: the idle timer only starts after the agent spoke.
The caller speaking again or a function call starting stops the guard; a turn that ends while
the agent speaks or a function call runs is not guarded.
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

# Above every normal answer's start: the LLM's budget (4 s, one retry included, then its own
# fallback), the TTS's first audio, a local Whisper's transcription (before the turn ends).
ANSWER_TIMEOUT_S = 8.0
SILENCE_TIMEOUT_FACTOR = 3  # the seed prompted after three times SILENCE_TIMEOUT_SECONDS


def idle_timeout_s(settings, silence_timeout_s: float | None) -> float:
    """The idle prompt's delay for a call: the graph's own `call.idle_timeout_s` when its file
    sets it, else three times SILENCE_TIMEOUT_SECONDS when that is set, else the default."""
    if "idle_timeout_s" in settings.model_fields_set or silence_timeout_s is None:
        return settings.idle_timeout_s
    return SILENCE_TIMEOUT_FACTOR * silence_timeout_s


class IdleTimer:
    """Calls `on_idle()` once the caller has been idle `timeout_s` after the agent spoke."""

    def __init__(
        self,
        timeout_s: float,
        clock: Clock,
        on_idle: Callable[[], None],
        on_unanswered: Callable[[], None] | None = None,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
    ):
        self._timeout_s = timeout_s
        self._clock = clock
        self._on_idle = on_idle
        self._on_unanswered = on_unanswered
        self._answer_timeout_s = answer_timeout_s
        self._timer: Timer | None = None
        self._answer: Timer | None = None  # the caller's last turn, waiting for the agent
        self._waiting_for_user = False
        self._user_turn = False
        self._bot_speaking = False
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
            self._bot_speaking = False
            if not self._user_turn and self._function_calls == 0:
                self._waiting_for_user = True
                self._start()
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._waiting_for_user = False
            self._bot_speaking = True
            self.stop()
            self._stop_answer()
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._waiting_for_user = False
            self._user_turn = True
            self.stop()
            self._stop_answer()
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self._user_turn = False
            busy = self._function_calls > 0 or self._bot_speaking  # the agent is answering
            if self._on_unanswered is not None and not busy:
                self._stop_answer()
                self._answer = self._clock.call_later(self._answer_timeout_s, self._unanswered)
        elif isinstance(frame, FunctionCallsStartedFrame):
            self._waiting_for_user = False
            self._function_calls += len(frame.function_calls)
            self.stop()
            self._stop_answer()
        elif isinstance(frame, (FunctionCallResultFrame, FunctionCallCancelFrame)):
            self._function_calls = max(0, self._function_calls - 1)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        """The call is ending: no idle prompt, no fallback."""
        self.stop()
        self._stop_answer()
        self._on_unanswered = None

    @property
    def awaiting_answer(self) -> bool:
        return self._answer is not None

    def _stop_answer(self) -> None:
        if self._answer is not None:
            self._answer.cancel()
            self._answer = None

    def _unanswered(self) -> None:
        self._answer = None
        if self._on_unanswered is not None:
            self._on_unanswered()

    def _start(self) -> None:
        if self._timeout_s <= 0:
            return
        self.stop()
        self._timer = self._clock.call_later(self._timeout_s, self._expired)

    def _expired(self) -> None:
        self._timer = None
        self._on_idle()

"""Barge-in: when the caller's speech over the agent is an interruption, and when it is only
an acknowledgement ("mm-hmm", "okay", "I see") that neither stops the agent nor makes a turn.

`AcknowledgingTurnStart` is a pipecat user turn start strategy (the public
`BaseUserTurnStartStrategy` hooks), the only start strategy of a conversation
(agent/nodes/conversation.py). While the agent is not speaking it starts a turn exactly as
pipecat's defaults do (the VAD's start, or a transcript). Speech that begins while the agent
speaks is decided from what is known at each moment:

- the words so far (interim transcripts, then the final one): one that is not part of an
  acknowledgement, once there are at least `min_words` words, is an interruption: the turn
  starts, pipecat broadcasts the interruption, the pacer sends Twilio's `clear` and the
  context keeps what was heard. Words that may still grow into an acknowledgement ("I" of
  "I see") are waited on while the transcript is interim;
- the speech's length (the VAD): `max_acknowledgement_s` of speech with no words yet (a
  slow or segmented STT: Whisper transcribes only after the VAD's stop) is an interruption;
- the final transcript of an utterance made only of acknowledgements: no turn; the text is
  dropped from the aggregation and pushed downstream as pipecat's `UserBackchannelFrame`,
  which the call record keeps as a caller turn with source "acknowledgement".

`rule="any_speech"` is the old behaviour: the VAD's start interrupts at once. Why this rule
and what it costs: docs/decisions/acknowledgements.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    UserBackchannelFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_start import BaseUserTurnStartStrategy

from processors.clock import LOOP_CLOCK, Clock, Timer

DEFAULT_ACKNOWLEDGEMENTS: tuple[str, ...] = (
    "mm-hmm",
    "mhm",
    "mm",
    "hmm",
    "uh-huh",
    "uh",
    "um",
    "okay",
    "ok",
    "right",
    "alright",
    "all right",
    "yeah",
    "yes",
    "yep",
    "sure",
    "i see",
    "got it",
    "oh",
    "ah",
)
DEFAULT_MAX_ACKNOWLEDGEMENT_S = 1.2

_WORD = re.compile(r"[a-z0-9']+")


def words_of(text: str) -> tuple[str, ...]:
    """Lower-case words, punctuation dropped; "mm-hmm" and "mm hmm" are both ("mm", "hmm")."""
    return tuple(_WORD.findall(text.lower().replace("-", " ")))


class Acknowledgements:
    """A list of acknowledgement phrases, and whether some words are made only of them."""

    def __init__(self, phrases: Iterable[str]):
        self.phrases = tuple(p for p in (words_of(p) for p in phrases) if p)

    def covers(self, words: tuple[str, ...], *, partial_tail: bool = False) -> bool:
        """Whether `words` is a run of acknowledgement phrases; with `partial_tail`, the last
        phrase may be unfinished (an interim transcript may still grow into "I see")."""
        reachable = {0}  # positions a run of whole phrases can end at
        for start in range(len(words)):
            if start not in reachable:
                continue
            for phrase in self.phrases:
                end = start + len(phrase)
                if words[start:end] == phrase:
                    reachable.add(end)
                elif (
                    partial_tail
                    and end > len(words)
                    and words[start:] == phrase[: len(words) - start]
                ):
                    return True
        return len(words) in reachable


class AcknowledgingTurnStart(BaseUserTurnStartStrategy):
    """Starts the caller's turn; over the agent, only for an interruption (module docstring)."""

    def __init__(
        self,
        *,
        acknowledgements: Iterable[str] = DEFAULT_ACKNOWLEDGEMENTS,
        min_words: int = 1,
        max_acknowledgement_s: float = DEFAULT_MAX_ACKNOWLEDGEMENT_S,
        rule: str = "acknowledgements",
        clock: Clock = LOOP_CLOCK,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if rule not in ("acknowledgements", "any_speech"):
            raise ValueError(f"unknown barge-in rule {rule!r}")
        self._acks = Acknowledgements(acknowledgements)
        self._min_words = max(1, min_words)
        self._max_s = max_acknowledgement_s
        self._any_speech = rule == "any_speech"
        self._clock = clock
        self._bot_speaking = False
        self._over_agent = False  # the caller's current speech began while the agent spoke
        self._speaking = False  # the VAD hears the caller
        self._heard_words = False  # some transcript came for the current speech
        self._net: Timer | None = None
        self.acknowledged: list[str] = []  # acknowledgements heard (for tests and logs)

    async def cleanup(self):
        self._cancel_net()
        await super().cleanup()

    async def handle_user_turn_started(self):
        self._over_agent = False
        self._cancel_net()

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            return await self._on_speech_started(frame)
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._speaking = False
            self._cancel_net()
        elif isinstance(frame, (TranscriptionFrame, InterimTranscriptionFrame)):
            return await self._on_words(frame)
        return ProcessFrameResult.CONTINUE

    async def _on_speech_started(self, frame: VADUserStartedSpeakingFrame) -> ProcessFrameResult:
        self._speaking = True
        if not self._over_agent:
            self._heard_words = False
        if not self._bot_speaking and not self._over_agent or self._any_speech:
            await self.trigger_user_turn_started()
            return ProcessFrameResult.STOP
        self._over_agent = True
        if self._net is None:
            delay = max(0.0, self._max_s - frame.start_secs)
            self._net = self._clock.call_later(delay, self._net_due)
        return ProcessFrameResult.CONTINUE

    async def _on_words(self, frame: TranscriptionFrame) -> ProcessFrameResult:
        final = isinstance(frame, TranscriptionFrame)
        words = words_of(frame.text)
        if not words:
            return ProcessFrameResult.CONTINUE
        if not self._over_agent:
            if not self._bot_speaking or self._any_speech:
                await self.trigger_user_turn_started()
                return ProcessFrameResult.STOP
            self._over_agent = True  # words the VAD did not hear, over the agent
        self._heard_words = True
        if len(words) >= self._min_words and not self._acks.covers(words, partial_tail=not final):
            await self.trigger_user_turn_started()
            return ProcessFrameResult.STOP
        if final:
            await self.trigger_reset_aggregation()  # no turn: the words stay out of the context
            if self._acks.covers(words):
                self.acknowledged.append(frame.text)
                await self.push_frame(
                    UserBackchannelFrame(
                        text=frame.text, user_id=frame.user_id, timestamp=frame.timestamp
                    )
                )
            if not self._speaking:
                self._over_agent = False
                self._cancel_net()
        return ProcessFrameResult.CONTINUE

    def _net_due(self) -> None:
        self._net = None
        if self._over_agent and self._speaking and not self._heard_words:
            self.create_task(self.trigger_user_turn_started())

    def _cancel_net(self) -> None:
        if self._net is not None:
            self._net.cancel()
            self._net = None

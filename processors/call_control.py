"""CallController: the `call:` section of a graph — greeting, idle prompts, hang-up, time limit, DTMF.

Right after transport in: it sees keypresses first and every speaking frame going upstream,
and queues speech, then the end of the call, downstream in order (the pacer plays a goodbye
to its last echoed mark before the transport hangs up). Transfers are its `transfers`
(processors/call_transfer.py), bound through `CallLine`, which it implements.

- consumes: `InputDTMFFrame` (mapped digits run their action; others reach the LLM as
  "The caller pressed 5."), `EndCallFrame` (router, the LLM's end_call tool),
  `DoNotCallFrame` (the `stop` route, the LLM's do_not_call tool: the bound `list_number`
  puts the call's number on the do-not-call list; the frame's `done` says whether it did),
  `TransferCallFrame` (router, the LLM's transfer_call tool: `transfers.start`),
  `TurnFailedFrame` (say `fallback`, at most once per FALLBACK_GAP_S; fatal: say
  `trouble_goodbye`, hang up with reason "error"; an unanswered caller turn counts as one)
- watches: Bot/User Started/Stopped Speaking for the idle timer (processors/idle_timer.py)
- produces: what it says (recording notice, greeting, prompts, goodbye, ...) as a
  `TTSSpeakFrame`, or cached audio (processors/cached_speech.py) plus an
  `LLMMessagesAppendFrame` for the context; `LLMMessagesAppendFrame`, `EndWorkerFrame`
- params: the graph's CallSettings; `phrases`, an optional PhraseBook (agent/phrases/cache.py);
  `clock` (processors/clock.py) for the idle prompts, time limit and fallback spacing;
  `destinations`, the transfers' finder (`Graph.transfer_destination`); `greeting`, said
  instead of the graph's (a call back from an unanswered transfer)
- messages: `take_message` / `offer_message` say their phrase, then push `TakeMessageFrame`
  / `OfferMessageFrame` to the dialog (processors/message_taking.py); `message_at_start` /
  `offer_at_start` (a reason): the greeting asked for a message / offered to take one
- events: on_hang_up(controller, reason: "agent", "idle", "timeout", "dtmf", "router" or
  "error"); on_transfer(controller, TransferRequest), once, before the transfer phrase;
  on_turn_failed(controller, TurnFailedFrame); on_dtmf(controller, digit), each key pressed;
  on_say(controller, text), before each thing it says itself (the record's words)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    EndWorkerFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    LLMMessagesAppendFrame,
    StartFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from agent.adapters.events import declare_event, fire_event
from processors.cached_speech import cached_speech_frames
from processors.call_transfer import CallTransfers, FindDestination, TransferRequest
from processors.clock import LOOP_CLOCK, Clock, Timer
from processors.frames import (
    DoNotCallFrame,
    EndCallFrame,
    OfferMessageFrame,
    TakeMessageFrame,
    TransferCallFrame,
    TurnFailedFrame,
)
from processors.idle_timer import IdleTimer
from processors.passthrough import CONSUMED, PassThroughProcessor

FALLBACK_GAP_S = 3.0  # failures closer together than this get one fallback phrase
UNANSWERED = TurnFailedFrame(stage="turn", reason="unanswered")  # processors/idle_timer.py


class CallController(PassThroughProcessor):
    """Call-level behaviour from a graph's CallSettings."""

    DIRECT = True  # every caller audio frame passes here: no hand-off of its own for it

    def __init__(
        self,
        settings,
        phrases=None,
        *,
        clock: Clock = LOOP_CLOCK,
        destinations: FindDestination | None = None,
        greeting: str | None = None,
        message_at_start: str | None = None,
        offer_at_start: str | None = None,
        elapsed_s: float = 0.0,
        **kwargs,
    ):
        """`elapsed_s`: how long the call has already lasted on earlier streams (a call back
        from an unanswered transfer): the time limit counts from the call's start, not
        from this stream's."""
        super().__init__(**kwargs)
        self._settings = settings
        self._elapsed_s = max(0.0, elapsed_s)
        self._greeting = greeting if greeting is not None else settings.greeting
        self._message_at_start = message_at_start  # the greeting asked for a message: why
        self._offer_at_start = offer_at_start  # the greeting offered to take one: why
        self._phrases = phrases
        self._clock = clock
        self._idle = IdleTimer(
            settings.idle_timeout_s,
            clock,
            lambda: self.create_task(self._on_idle()),
            # A caller turn nothing answered: the fallback, as for a failed turn (issue 20).
            lambda: self.create_task(self._on_turn_failed(UNANSWERED)),
        )
        self._idle_prompts = 0
        self._ending = False
        self._timer: Timer | None = None
        self.hang_up_reason: str | None = None
        self.failures: list[tuple[str, str]] = []  # (stage, reason) of each TurnFailedFrame
        self._last_fallback_t = float("-inf")
        self.transfers = CallTransfers(self, settings, destinations, clock)
        # Puts the call's number on the do-not-call list (source) -> listed; bound by the
        # pipeline assembly (agent/app/outbound_call.py). None: nothing can be listed.
        self.list_number: Callable[[str], Awaitable[bool]] | None = None
        declare_event(self, "on_transfer", sync=True)  # handled before the phrase is said
        declare_event(self, "on_hang_up")
        declare_event(self, "on_turn_failed")
        declare_event(self, "on_dtmf")
        declare_event(self, "on_say", sync=True)  # in order, before the words go out

    async def cleanup(self):
        await super().cleanup()
        self._idle.close()
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer:
            self._timer.cancel()
            self._timer = None

    async def handle(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, InputAudioRawFrame):
            return None  # caller audio: 16 frames a second, nothing here for it
        self._idle.on_frame(frame)
        self.transfers.on_frame(frame, direction)
        if isinstance(frame, StartFrame):
            # Forward the StartFrame first so every processor has started before we speak.
            await self.push_frame(frame, direction)
            await self._on_start()
            return CONSUMED
        if isinstance(frame, InputDTMFFrame):
            await self._on_dtmf(frame.button.value)
            return CONSUMED
        if isinstance(frame, EndCallFrame):
            await self.hang_up(frame.reason, goodbye=frame.goodbye)
            return CONSUMED
        if isinstance(frame, DoNotCallFrame):
            self.create_task(self._do_not_call(frame), name="do-not-call")
            return CONSUMED
        if isinstance(frame, TransferCallFrame):
            await self.transfers.start(frame)
            return CONSUMED
        if isinstance(frame, TurnFailedFrame):
            await self._on_turn_failed(frame)
            return CONSUMED
        if isinstance(frame, UserStartedSpeakingFrame):
            self._idle_prompts = 0
        elif isinstance(frame, (EndFrame, CancelFrame)):
            self._cancel_timer()
            self._idle.close()
        return None

    async def _on_start(self) -> None:
        self._timer = self._clock.call_later(
            max(0.0, self._settings.max_duration_s - self._elapsed_s),
            lambda: self.create_task(self._on_time_limit()),
        )
        if self._settings.record and self._settings.recording_notice:
            await self.say(self._settings.recording_notice)  # before anything else is said
        if self._greeting:
            await self.say(self._greeting)
        if self._message_at_start:  # the greeting asked for the caller's name
            await self.push_frame(TakeMessageFrame(reason=self._message_at_start, asked=True))
        elif self._offer_at_start:  # the greeting offered to take a message
            await self.push_frame(OfferMessageFrame(reason=self._offer_at_start))

    async def _on_turn_failed(self, frame: TurnFailedFrame) -> None:
        logger.warning(
            f"{self}: {frame.stage} failed ({frame.reason})"
            + ("; ending the call" if frame.fatal else "; saying the fallback")
        )
        self.failures.append((frame.stage, frame.reason))
        await fire_event(self, "on_turn_failed", frame)
        if frame.fatal:
            await self.hang_up("error", goodbye=self._settings.trouble_goodbye)
            return
        # One apology per failed turn: the LLM and the TTS may both report the same outage.
        now = self._clock.now()
        if now - self._last_fallback_t < FALLBACK_GAP_S or self._ending:
            return
        self._last_fallback_t = now
        await self.say(self._settings.fallback)

    async def say(self, text: str) -> None:
        if not text:
            return
        await fire_event(self, "on_say", text)
        pcm = self._phrases.audio_for_text(text) if self._phrases is not None else None
        if pcm is None:
            await self.push_frame(TTSSpeakFrame(text))
            return
        for frame in cached_speech_frames(pcm, text):
            await self.push_frame(frame)
        message = {"role": "assistant", "content": text}
        await self.push_frame(LLMMessagesAppendFrame(messages=[message], run_llm=False))

    async def _do_not_call(self, frame: DoNotCallFrame) -> None:
        listed = await self.list_number(frame.source) if self.list_number is not None else False
        if not listed:
            logger.error(f"{self}: the number could not be put on the do-not-call list")
        if frame.done is not None and not frame.done.done():
            frame.done.set_result(listed)

    async def hang_up(self, reason: str = "agent", goodbye: str | None = None) -> None:
        """Say goodbye (the given words, else the graph's), then end the call."""
        if self._ending:
            return
        self._ending = True
        self.hang_up_reason = reason
        self._cancel_timer()
        self._idle.close()
        logger.info(f"{self}: agent hangs up ({reason})")
        await fire_event(self, "on_hang_up", reason)
        await self.say(goodbye if goodbye is not None else (self._settings.goodbye or ""))
        # EndWorkerFrame travels behind the goodbye; the worker then sends EndFrame from the
        # very start (transport in included), and the pacer holds it until the goodbye played.
        await self.end_pipeline(reason)

    async def _on_idle(self) -> None:
        if self._ending:
            return
        if self._idle_prompts < self._settings.max_idle_prompts and self._settings.idle_prompt:
            self._idle_prompts += 1
            await self.say(self._settings.idle_prompt)
            return
        await self.hang_up("idle")

    async def _on_time_limit(self) -> None:
        if self._ending:
            return
        await self.say(self._settings.max_duration_notice)
        await self.hang_up("timeout")

    async def _on_dtmf(self, digit: str) -> None:
        action = self._settings.dtmf.get(digit)
        await fire_event(self, "on_dtmf", digit)
        if self.transfers.holding:
            return  # on hold: the key is in the record, nothing answers it
        if action is not None and action.action == "transfer":
            request = TransferCallFrame(
                destination=action.destination, reason=f"pressed {digit}", via="dtmf"
            )
            if self.transfers.can_start(action.destination) and await self.transfers.start(request):
                return
            action = None  # no one to put the caller through to: the key is an ordinary one
        if action is None:
            message = {"role": "user", "content": f"The caller pressed {digit} on the keypad."}
            await self.push_frame(LLMMessagesAppendFrame(messages=[message], run_llm=True))
            return
        if action.action == "hang_up":
            await self.hang_up("dtmf", goodbye=action.say)
        else:
            await self.say(action.say or "")

    # -- messages -------------------------------------------------------------------------

    async def take_message(self, reason: str, say: str | None = None, *, asked: bool = False):
        """Say `say` (from the cache when it is there), then start taking a message; `asked`:
        the phrase itself asked for the caller's name."""
        await self.say(say or "")
        await self.push_frame(TakeMessageFrame(reason=reason, asked=asked))

    async def offer_message(self, reason: str, say: str) -> None:
        """Say `say`, an offer to take a message; a yes from the caller starts it."""
        await self.say(say)
        await self.push_frame(OfferMessageFrame(reason=reason))

    # -- CallLine, the transfers' seam (processors/call_transfer.py) ---------------------

    @property
    def ending(self) -> bool:
        return self._ending

    def leave_conversation(self, hang_up_reason: str | None, *, keep_time_limit: bool) -> None:
        self._ending = True
        self.hang_up_reason = hang_up_reason
        if not keep_time_limit:
            self._cancel_timer()
        self._idle.stop()

    def return_to_conversation(self) -> None:
        self._ending = False
        self.hang_up_reason = None

    async def announce_transfer(self, request: TransferRequest) -> None:
        await fire_event(self, "on_transfer", request)

    async def end_pipeline(self, reason: str) -> None:
        await self.push_frame(EndWorkerFrame(reason=reason))

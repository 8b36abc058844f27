"""CallController: the `call:` section of a graph — greeting, idle prompts, hang-up, time limit, DTMF.

Placed by the pipeline factory right after transport in, so it sees the caller's keypresses
first, every bot/user speaking frame travelling upstream, and can queue speech and the end of
the call downstream in order (a goodbye's `TTSSpeakFrame`, then `EndFrame`: the pacer plays
the goodbye to its last echoed mark before the transport hangs up and closes).

- consumes: `InputDTMFFrame` (mapped digits run their action; others reach the LLM as
  "The caller pressed 5."), `EndCallFrame` (from the router or the LLM's end_call tool),
  `DoNotCallFrame` (the `stop` route, the LLM's do_not_call tool: the bound `list_number`
  puts the call's number on the do-not-call list; the frame's `done` says whether it did),
  `TransferCallFrame` (from the router or the LLM's transfer_call tool: say the transfer
  phrase; once it has played (processors/speaking.py), run the bound `hand_off_now` (the
  REST update with Twilio's <Dial>, agent/app/transfer_call.py) and end the pipeline with
  reason "transfer", or, refused, go on (`transfer_failed`: the caller is told); with no
  hand-off bound, end the pipeline at once and the transport hands off at the end. A
  warm destination holds instead: `bind_hold`, `warm_accepted`, `warm_failed`),
  `TurnFailedFrame` (a service gave up on a turn: say `fallback`, at most once per
  FALLBACK_GAP_S; a fatal one: say `trouble_goodbye` and hang up with reason "error"); a
  caller turn the agent has not started answering ANSWER_TIMEOUT_S after it ended is
  handled as one (stage "turn", reason "unanswered"; processors/idle_timer.py)
- watches: Bot/User Started/Stopped Speaking (processors/idle_timer.py, pipecat's
  UserIdleController's rules: the idle timer runs from the moment the agent's audio
  finished *playing*, i.e. the pacer's mark-driven BotStoppedSpeakingFrame, and stops when
  anyone speaks)
- produces: `TTSSpeakFrame` (a recorded call's recording notice, then the greeting; idle
  prompt, time-limit notice, goodbye, DTMF phrase),
  or, for a text the audio cache holds, the cached phrase (processors/cached_speech.py) plus
  an `LLMMessagesAppendFrame` recording it as the assistant's, as the TTS path would;
  `LLMMessagesAppendFrame` (unmapped digits), `EndWorkerFrame(reason=...)`
- params: the graph's CallSettings; `phrases`, an optional PhraseBook (agent/phrases/cache.py)
  of pre-rendered phrases (agent.nodes.router.phrase_book_of finds the graph's); `clock`
  (processors/clock.py) for the idle prompts, the time limit and the fallback's spacing
- params (more): `destinations`, how a destination name (None: the first) is found among
  the graph's active ones (agent/graph/resolved.py `Graph.transfer_destination`); `greeting`,
  said instead of the graph's (a call back from an unanswered transfer)
- message-taking (graphs with `messages:`): `take_message(reason, say)` and
  `offer_message(reason, say)` say their phrase, then push `TakeMessageFrame` /
  `OfferMessageFrame` behind it to the dialog in front of the LLM
  (processors/message_taking.py): for after hours, a transfer nobody answered, ...;
  `message_at_start` (a reason): take a message right after the greeting, which asked for
  the caller's name (after hours: `hours.after_hours.take_message`); `offer_at_start`: the
  greeting offered to take one (a call back from an unanswered transfer): a yes starts it
- events: on_hang_up(controller, reason) — reason is "agent", "idle", "timeout", "dtmf",
  "router" (a `hang_up` route of the intent router) or "error";
  on_transfer(controller, TransferRequest), once, before the transfer phrase;
  on_turn_failed(controller, TurnFailedFrame); on_dtmf(controller, digit), for each key
  the caller presses (the call record's keypad turns); on_say(controller, text), before
  each thing it says itself (greeting, prompts, goodbye: the record's words for that turn)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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
from processors.speaking import SpeakingState

FALLBACK_GAP_S = 3.0  # failures closer together than this get one fallback phrase
UNANSWERED = TurnFailedFrame(stage="turn", reason="unanswered")  # processors/idle_timer.py


@dataclass(frozen=True)
class TransferRequest:
    """A transfer the controller started: where to, why, and which way in."""

    name: str  # the destination's name in the graph's `transfer:`
    to: str  # the number dialled
    ring_timeout_s: int
    caller_id: str | None
    via: str  # "route" | "dtmf" | "llm"
    reason: str
    warm: bool = False  # the caller holds while the person is asked (agent/app/warm_transfer.py)
    accept_timeout_s: int = 20  # warm: how long the person has to accept


# name (None: the first) -> (name, destination with .to, .ring_timeout_s, .caller_id) or None
FindDestination = Callable[[str | None], tuple[str, object] | None]


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
        self._destinations = destinations
        self._greeting = greeting if greeting is not None else settings.greeting
        self.transfer: TransferRequest | None = None
        # After the greeting (which asks for the caller's name), take a message; its reason.
        self._message_at_start = message_at_start
        # After the greeting (which offered to take a message), a yes starts it; its reason.
        self._offer_at_start = offer_at_start
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
        self._hold = None  # processors/hold_music.py HoldMusic, for warm transfers (bind_hold)
        self._speech = SpeakingState()  # has the transfer phrase played?
        # A cold transfer's REST update, run once its phrase has played (True: done; False:
        # refused, and the caller was told). None: the transport runs it at the end.
        self.hand_off_now: Callable[[], Awaitable[bool]] | None = None
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
        self._speech.on_frame(frame, direction)
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
            await self.start_transfer(frame)
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
        await self.push_frame(EndWorkerFrame(reason=reason))

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
        if self.holding:
            return  # on hold: the key is in the record, nothing answers it
        if action is not None and action.action == "transfer":
            request = TransferCallFrame(
                destination=action.destination, reason=f"pressed {digit}", via="dtmf"
            )
            if self.can_transfer(action.destination) and await self.start_transfer(request):
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

    # -- transfers ------------------------------------------------------------------------

    def can_transfer(self, destination: str | None) -> bool:
        """Is `destination` (None: the graph's first) set, and the call not ending?"""
        found = self._destinations(destination) if self._destinations else None
        return found is not None and not self._ending

    async def start_transfer(self, frame: TransferCallFrame) -> bool:
        """Say the transfer phrase, then end the pipeline with reason "transfer": the pacer
        plays the phrase to its end, then the transport updates the call with <Dial>.
        False (nothing done) when the destination is not set or the call is ending."""
        found = self._destinations(frame.destination) if self._destinations else None
        if found is None or self._ending:
            logger.warning(f"{self}: no transfer to {frame.destination or 'the first destination'}")
            return False
        name, destination = found
        warm = destination.warm and self._hold is not None
        self._ending = True
        self.hang_up_reason = None if warm else "transfer"
        if not warm and self.hand_off_now is None:  # else the call may come back: it stays
            self._cancel_timer()
        self._idle.stop()
        self.transfer = TransferRequest(
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
        logger.info(f"{self}: transferring to {name} ({frame.via})")
        await fire_event(self, "on_transfer", self.transfer)
        await self.say(frame.say if frame.say is not None else self._settings.transfer_phrase)
        if self.hand_off_now is None:
            await self.push_frame(EndWorkerFrame(reason="transfer"))
        else:
            self.create_task(self._hand_off_when_played(), name="transfer-hand-off")
        return True

    async def _hand_off_when_played(self) -> None:
        """The phrase has played: update the call (the bound hand-off). Done: end the
        pipeline (Twilio ends the stream too). Refused: the hand-off told the caller; the
        conversation goes on."""
        await self._speech.played(self._clock)
        if await self.hand_off_now():
            await self.push_frame(EndWorkerFrame(reason="transfer"))

    async def transfer_failed(self, *, offer_message: bool) -> None:
        """A transfer could not be made (the REST update was refused): the caller hears
        `transfer_failed`, then (graphs taking messages) a yes to it starts the dialog."""
        self._ending = False
        self.hang_up_reason = None
        self.transfer = None
        if offer_message:
            await self.offer_message("transfer_failed", self._settings.transfer_failed)
        else:
            await self.say(self._settings.transfer_failed)

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

    # -- warm transfers (agent/app/warm_transfer.py) -----------------------------------------

    def bind_hold(self, hold) -> None:
        """The call's HoldMusic (processors/hold_music.py): warm transfers hold with it."""
        self._hold = hold

    @property
    def holding(self) -> bool:
        return self._hold is not None and self._hold.holding

    async def _start_warm(self) -> bool:
        logger.info(f"{self}: warm transfer to {self.transfer.name} ({self.transfer.via})")
        await fire_event(self, "on_transfer", self.transfer)  # the person's leg is called
        await self.say(self._settings.hold_phrase)
        await self._hold.start()
        return True

    async def warm_accepted(self) -> None:
        """The person took the call: the music stops, the caller hears `hold_connected` to
        its end, then the pipeline ends with reason "transfer" (the transport's hand-off
        moves the call into the conference)."""
        if not self.holding:
            return
        await self._hold.stop()
        self.hang_up_reason = "transfer"
        self._cancel_timer()
        await self.say(self._settings.hold_connected)
        await self.push_frame(EndWorkerFrame(reason="transfer"))

    async def warm_failed(self, *, offer_message: bool) -> None:
        """Nobody took the call: the music stops, the caller hears `transfer_failed`, then
        (graphs taking messages) a yes to its offer starts the message dialog. The
        conversation goes on."""
        if not self.holding:
            return
        await self._hold.stop()
        await self.transfer_failed(offer_message=offer_message)

"""IntentRouter (`intent_router` node): instant answers from pre-rendered audio, no LLM, no TTS.

Sits between the STT and the LLM's user aggregator. Each final transcript is embedded and
compared with the routes' examples (agent.phrases.intent.RouteMatcher). On a hit the caller hears the
route's cached phrase at once, the LLM is never asked, and the route's action runs; a miss
passes the transcript on untouched.

- consumes: final `TranscriptionFrame`s of the turns it answers (replaced, see below)
- consumes: `MessageTakingFrame` (upstream): while a message is being taken
  (processors/message_taking.py) no turn is routed: the caller is answering its questions
- watches: `UserStarted/StoppedSpeakingFrame`, `BotStarted/StoppedSpeakingFrame`,
  `FunctionCallsStartedFrame` / results (when may a turn be answered; any direction)
- produces, on a hit, downstream: the phrase (`TTSStartedFrame`, one `OutputAudioRawFrame`
  of 8 kHz PCM16, `TTSStoppedFrame`; processors/cached_speech.py) or, when the phrase is
  missing or stale in the cache, a `TTSSpeakFrame` of its text (with a warning: never
  silence); an `LLMMessagesAppendFrame` (user words + phrase, run_llm=False) so later
  answers know what was said; a blank `TranscriptionFrame` (" ") in place of the caller's,
  so pipecat's turn strategies still see a transcript and end the turn on their usual
  schedule while the aggregator has nothing to send to the LLM. Upstream, for a `hang_up`
  route, after the phrase: `EndCallFrame(reason="router", goodbye="")`, so the call
  controller ends the call once the phrase (itself the goodbye) has played; a
  `do_not_call` route pushes `DoNotCallFrame` first (the number goes on the list). Downstream,
  after the phrase: for a `take_message` route, `TakeMessageFrame(asked=True)` (the phrase
  asked for the caller's name; the message-taking dialog in front of the LLM takes it from
  there); for an `offer_message` route, `OfferMessageFrame` (a yes to the phrase's offer
  starts message-taking).
- params: matcher (RouteMatcher; None: routing is off, ROUTER_ENABLED=false, and every
  transcript passes on to the LLM), routes (name -> Route), phrases (PhraseBook)
- events: on_route(router, hit: RouteHit), for every routed turn

Which turns it answers: a route that acts (hang up, transfer, messages) never on words that
leave the sentence open ("I'm calling about": `processors.turn_end.classify`; such a turn goes
to the LLM); only one that began while the agent was waiting for the caller
(pipecat's user aggregator's rule for an "idle" turn: the agent had finished speaking, no
reply or tool call pending), and only its first final transcript, and only if no earlier
piece of the turn went to the LLM. A turn that barged in on the agent goes to the LLM:
pipecat answers a barge-in turn that ends without words by asking the LLM to recover the
interrupted reply, which would talk over the cached answer. Later pieces of a routed turn
go to the LLM, which then answers them knowing the cached phrase was said.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    FunctionCallCancelFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    LLMMessagesAppendFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from agent.adapters.events import declare_event, fire_event
from processors.cached_speech import cached_speech_frames
from processors.frames import (
    DoNotCallFrame,
    EndCallFrame,
    MessageTakingFrame,
    OfferMessageFrame,
    TakeMessageFrame,
    TransferCallFrame,
)
from processors.passthrough import CONSUMED, PassThroughProcessor
from processors.turn_end import classify

_MATCHING: ThreadPoolExecutor | None = None


def _matching() -> ThreadPoolExecutor:
    """The process's one thread for matching: matches run one at a time, as they did on the
    event loop (the encoders are not asked from two threads at once), but off it."""
    global _MATCHING
    if _MATCHING is None:
        _MATCHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="router-match")
    return _MATCHING


@dataclass(frozen=True)
class RouteHit:
    """A turn the router answered."""

    route: str
    score: float
    text: str  # what the caller said
    phrase: str  # what the agent answered
    cached: bool  # played from the cache (False: spoken by live TTS)
    action: str
    seconds: float  # from the transcript's arrival to the answer's first frame pushed


class IntentRouter(PassThroughProcessor):
    """Answers matching caller turns with cached audio; passes everything else on."""

    # Matching a transcript embeds one sentence: ~0.1 ms with wordllama, ~3.4 ms of CPU with
    # the shipped minilm-int8+wordllama, once per final transcript of a routable turn. It runs
    # on the process's one matching thread (`_matching`), where onnxruntime and numpy let go of
    # the GIL: inline, the coinciding turns of 50 calls held the event loop every call's pacer
    # shares (docs/decisions/router-encoder.md, round six).
    DIRECT = True

    def __init__(self, matcher, routes: Mapping, phrases, **kwargs):
        super().__init__(**kwargs)
        self._matcher = matcher
        self._routes = routes
        self.phrases = phrases
        self.matcher = matcher  # read-only use (tests, tools); None: routing off
        self.hits: list[RouteHit] = []
        # A mirror of pipecat's "waiting for the user" (the user aggregator's idle controller)
        self._bot_speaking = False
        self._waiting_for_user = False
        self._function_calls = 0
        self._taking_message = False  # the message-taking dialog is asking its questions
        # the caller's current turn
        self._in_turn = False
        self._turn_routable = False
        self._turn_routed = False
        self._turn_passed = False
        declare_event(self, "on_route")

    async def handle(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, TranscriptionFrame) and direction == FrameDirection.DOWNSTREAM:
            return await self._on_transcript(frame)
        if isinstance(frame, MessageTakingFrame):
            self._taking_message = frame.active
            return CONSUMED
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
            self._waiting_for_user = False
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
            if not self._in_turn and not self._function_calls:
                self._waiting_for_user = True
        elif isinstance(frame, UserStartedSpeakingFrame):
            if not self._in_turn:
                self._in_turn = True
                self._turn_routable = self._waiting_for_user
                self._turn_routed = self._turn_passed = False
            self._waiting_for_user = False
        elif isinstance(frame, UserStoppedSpeakingFrame):
            if self._in_turn:
                self._in_turn = False
                # A turn left with nothing for the LLM: pipecat waits for the user again.
                nothing_sent = self._turn_routed and not self._turn_passed
                if nothing_sent and not self._bot_speaking and not self._function_calls:
                    self._waiting_for_user = True
        elif isinstance(frame, FunctionCallsStartedFrame):
            self._function_calls += len(frame.function_calls)
            self._waiting_for_user = False
        elif isinstance(frame, (FunctionCallResultFrame, FunctionCallCancelFrame)):
            self._function_calls = max(0, self._function_calls - 1)
        return None

    async def _on_transcript(self, frame: TranscriptionFrame):
        if not frame.text.strip() or self._matcher is None:
            return None
        started = time.perf_counter()
        routable = (
            self._in_turn
            and self._turn_routable
            and not self._turn_routed
            and not self._taking_message
        )
        if not routable or self._turn_passed:
            self._turn_passed = self._turn_passed or self._in_turn
            return None
        hit = await asyncio.get_running_loop().run_in_executor(
            _matching(), self._matcher.match, frame.text
        )
        if hit is None or hit.route not in self._routes:
            # No route, or one this call has off (a transfer without its number or after
            # hours): the LLM answers.
            self._turn_passed = True
            return None
        route = self._routes[hit.route]
        if route.action not in ("", "none") and classify(frame.text) == "unfinished":
            # Half a sentence ("I'm calling about", then a pause) that looks like a route
            # that acts ("stop calling me": hang up): not on a first half. The turn goes on
            # to the LLM, answered whole once it ends (processors/turn_end.py).
            self._turn_passed = True
            return None
        self._turn_routed = True
        pcm = self.phrases.audio(hit.route)
        if pcm is not None:
            for out in cached_speech_frames(pcm, route.say):
                await self.push_frame(out)
        else:
            logger.warning(
                f"{self}: no fresh cached audio for route '{hit.route}' "
                f"({self.phrases.problems.get(hit.route, 'missing')}); speaking it with live TTS"
            )
            await self.push_frame(TTSSpeakFrame(route.say, append_to_context=False))
        seconds = time.perf_counter() - started
        messages = [
            {"role": "user", "content": frame.text},
            {"role": "assistant", "content": route.say},
        ]
        await self.push_frame(LLMMessagesAppendFrame(messages=messages, run_llm=False))
        await self.push_frame(
            TranscriptionFrame(
                text=" ",
                user_id=frame.user_id,
                timestamp=frame.timestamp,
                language=frame.language,
                finalized=frame.finalized,
            )
        )
        if route.action == "do_not_call":  # listed first, then the call ends
            await self.push_frame(
                DoNotCallFrame(source=f"route:{hit.route}"), FrameDirection.UPSTREAM
            )
        if route.action in ("hang_up", "do_not_call"):
            await self.push_frame(
                EndCallFrame(reason="router", goodbye=""), FrameDirection.UPSTREAM
            )
        elif route.action == "transfer":
            transfer = TransferCallFrame(
                destination=route.destination, reason=f"route {hit.route}", via="route", say=""
            )
            await self.push_frame(transfer, FrameDirection.UPSTREAM)
        elif route.action == "take_message":
            await self.push_frame(TakeMessageFrame(reason="caller_asked", asked=True))
        elif route.action == "offer_message":
            await self.push_frame(OfferMessageFrame(reason="offer_accepted"))
        result = RouteHit(
            hit.route, hit.score, frame.text, route.say, pcm is not None, route.action, seconds
        )
        self.hits.append(result)
        logger.info(
            f"{self}: routed {frame.text!r} to '{hit.route}' (score {hit.score:.2f}, "
            f"{'cached audio' if pcm is not None else 'live TTS'}, {seconds * 1000:.1f} ms)"
        )
        await fire_event(self, "on_route", result)
        return CONSUMED

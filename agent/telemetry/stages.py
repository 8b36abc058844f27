"""StageCollector: when each stage of a turn happened, collected without an observer.

Only created when tracing is on (agent/telemetry/call_trace.py binds it). Its inputs, each
already in the call or added only for it:

- frames reaching the pipeline's end (the worker's reached-downstream filter, as the
  TurnTracker): `VADUserStoppedSpeakingFrame` (the VAD decided at `timestamp`; the caller
  stopped `stop_secs` before), `BotStartedSpeakingFrame` (the caller *hears* the agent:
  the pacer sends it from Twilio's mark echo);
- processor events: the user aggregator's `on_user_turn_stopped` and the router's
  `on_route` (final transcript; a route hit), the TTS's `on_tts_request` (text handed to
  the TTS), the LLM's `on_function_calls_started` (tools);
- the LLM service's probe (agent/adapters/openai_llm.py `LLMRequestProbe`): request sent
  (and model), first streamed chunk, token usage, end or error: one per attempt;
- `TracedLink` round the pacer's media link: the first audio sent to Twilio per turn.

`take()` hands over the stages of the turn that just ended and starts the next. A VAD stop
for speech that ended after the agent was heard (the caller speaking again before the
agent's turn was committed) belongs to the next turn and is carried over; one for speech
that ended before (the router answered on the final transcript before the VAD decided)
is the current turn's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipecat.frames.frames import BotStartedSpeakingFrame, VADUserStoppedSpeakingFrame

from processors.media_link import MarkSubscriber, MediaLink


@dataclass
class LLMRequest:
    """One request to the LLM (a retry is another)."""

    start: float
    model: str | None = None
    system: str = "openai"  # gen_ai.system: the provider ("groq", "openai")
    first_token: float | None = None
    end: float | None = None
    response_model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None


@dataclass
class ToolUse:
    name: str
    at: float
    call_id: str | None = None


@dataclass
class TurnStages:
    """Epoch-second timestamps of one turn's stages (None: did not happen / not seen)."""

    speech_stopped: float | None = None  # the caller's last sound (VAD decision - stop_secs)
    vad_decided: float | None = None  # the VAD's end-of-speech decision
    transcript_at: float | None = None  # the final transcript reached the aggregator/router
    routed_at: float | None = None  # the router answered from cached audio
    route: str | None = None
    llm: list[LLMRequest] = field(default_factory=list)
    tools: list[ToolUse] = field(default_factory=list)
    tts_requested: float | None = None  # first text handed to the TTS
    first_audio_sent: float | None = None  # first agent audio written to Twilio
    heard: float | None = None  # Twilio echoed the first mark: the caller hears it

    def empty(self) -> bool:
        return self == TurnStages()


class StageCollector:
    """The stages of the turn under way; `take()` at each agent turn's end."""

    FRAME_TYPES = (VADUserStoppedSpeakingFrame, BotStartedSpeakingFrame)

    def __init__(self, now: Callable[[], float] = time.time):
        self._now = now
        self.current = TurnStages()
        self._carry: TurnStages | None = None
        self.llm_system = "openai"  # the provider of the call's LLM (set when bound)

    def take(self) -> TurnStages:
        done, self.current = self.current, self._carry or TurnStages()
        self._carry = None
        return done

    # --- frames reaching the pipeline's end -----------------------------------------------

    def on_frame(self, frame) -> None:
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            stages = self.current
            stopped = frame.timestamp - frame.stop_secs
            # After the agent was heard, a VAD stop is the caller speaking again (the next
            # turn's), unless the speech it ends stopped before that: the router may answer
            # on a final transcript before the VAD has decided.
            if stages.heard is not None and stopped >= stages.heard:
                stages = self._carry = self._carry or TurnStages()
            stages.vad_decided = frame.timestamp
            stages.speech_stopped = frame.timestamp - frame.stop_secs
        elif isinstance(frame, BotStartedSpeakingFrame) and self.current.heard is None:
            self.current.heard = self._now()

    # --- events ---------------------------------------------------------------------------

    def transcript(self) -> None:
        if self.current.heard is not None:
            # The agent already answered this turn: a transcript now is either the caller
            # speaking again (their VAD stop was carried over: it goes with it) or the user
            # aggregator closing a turn the router answered first (nothing new: dropped).
            if self._carry is not None:
                self._carry.transcript_at = self._now()
            return
        self.current.transcript_at = self._now()

    def routed(self, route: str) -> None:
        self.current.routed_at, self.current.route = self._now(), route

    def tts_request(self) -> None:
        if self.current.tts_requested is None:
            self.current.tts_requested = self._now()

    def tool_called(self, name: str, call_id: str | None) -> None:
        self.current.tools.append(ToolUse(name, self._now(), call_id))

    def audio_sent(self) -> None:
        if self.current.first_audio_sent is None:
            self.current.first_audio_sent = self._now()

    # --- LLMRequestProbe (agent/adapters/openai_llm.py) ------------------------------------

    def llm_request(self, model: str | None) -> None:
        self.current.llm.append(LLMRequest(self._now(), model=model, system=self.llm_system))

    def llm_first_token(self) -> None:
        request = self._open_request()
        if request is not None and request.first_token is None:
            request.first_token = self._now()

    def llm_usage(
        self, input_tokens: int | None, output_tokens: int | None, model: str | None
    ) -> None:
        request = self._open_request()
        if request is not None:
            request.input_tokens, request.output_tokens = input_tokens, output_tokens
            request.response_model = model or None

    def llm_done(self, error: str | None) -> None:
        request = self._open_request()
        if request is not None:
            request.end, request.error = self._now(), error

    def _open_request(self) -> LLMRequest | None:
        llm = self.current.llm
        return llm[-1] if llm and llm[-1].end is None else None


class TracedLink:
    """The pacer's media link, noting the first audio sent in each turn (tracing on only)."""

    def __init__(self, inner: MediaLink, stages: StageCollector):
        self._inner = inner
        self._stages = stages

    def send_audio(self, pcm, at, due, on_lateness) -> bool:
        if self._stages.current.first_audio_sent is None:
            self._stages.audio_sent()
        return self._inner.send_audio(pcm, at, due, on_lateness)

    def send_mark(self, name: str) -> bool:
        return self._inner.send_mark(name)

    def drop_scheduled(self) -> int:
        return self._inner.drop_scheduled()

    async def clear(self) -> bool:
        return await self._inner.clear()

    def subscribe(self, subscriber: MarkSubscriber) -> None:
        self._inner.subscribe(subscriber)

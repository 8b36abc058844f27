"""TurnTracker: the turns of one call, each reported the moment it ends.

Fed without a pipecat observer (an observer costs a queue hand-off for every frame every
processor pushes; see agent/adapters/engine.py), from two cheap sources:

- frames that reach the pipeline's end, through the worker's reached-downstream filter (only
  these types are handed over): `VADUserStarted/StoppedSpeakingFrame` (when the caller spoke),
  `BotStarted/StoppedSpeakingFrame` (when the caller *heard* the agent: the pacer sends them
  from Twilio's mark echoes), our `HeardTextFrame` (what was heard of an interrupted reply)
  and pipecat's `UserBackchannelFrame` (an acknowledgement said over the agent, which stopped
  nothing and made no turn, processors/barge_in.py: a caller turn, source "acknowledgement");
- events of processors already in the call: the LLM user aggregator's `on_user_turn_stopped`
  (the caller's words as written to the context), the assistant aggregator's
  `on_assistant_turn_started/stopped` (the reply's text, interrupted or not), the intent
  router's `on_route` (a turn answered from cached audio), the call controller's `on_dtmf` (a
  key the caller pressed: a caller turn of its own, source "dtmf", text "pressed 5"), an
  outbound call's `on_callee_words` (what the callee said before the agent spoke: "Hello?",
  a voicemail greeting; held from the LLM, still the caller's turn), the
  message-taking dialog's `on_prompt` (the agent's next reply is its question: source
  "message", not "llm"), the call controller's `on_say` (a greeting, prompt or goodbye it
  says itself, from the audio cache or the TTS).

A caller turn ends when its words are final (user aggregator or router). An agent turn is one
run of agent audio (bot started -> stopped speaking) plus the text it carried; it ends when
the audio has stopped *and* the LLM reply (if one is under way) is complete. Its text comes
from the LLM reply, else the route's phrase, else what the call controller said (greeting,
idle prompt, goodbye), else the newest assistant message in the LLM context. Latency: the caller's VAD
stop (minus stop_secs) to the agent's audio start, as the turn-latency histogram measures it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    UserBackchannelFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)

from processors.call_control import CallController
from processors.callee_answer import CalleeAnswer
from processors.frames import HeardTextFrame
from processors.heard_context import INTERRUPTED_FLAG
from processors.message_taking import MessageTaker
from processors.router import IntentRouter


@dataclass
class Turn:
    """One finished turn."""

    seq: int
    role: str  # "caller" | "agent"
    text: str
    started_at: datetime | None
    ended_at: datetime | None
    heard_text: str | None = None
    interrupted: bool = False
    source: str = "caller"  # caller: "caller" | "dtmf" | "acknowledgement"; agent: "llm" | "message" | "route" ...
    route: str | None = None
    latency_ms: float | None = None
    failure: str | None = None  # "stage:reason": this turn is the fallback for a failed one


@dataclass
class _AgentTurn:
    started: float | None = None
    ended: float | None = None
    texts: list[str] = field(default_factory=list)
    heard: str | None = None
    interrupted: bool = False
    route: str | None = None
    route_phrase: str | None = None
    latency_ms: float | None = None
    cut_off: bool = False  # the call ended while it played
    failure: str | None = None
    message: bool = False  # said by the message-taking dialog, not the LLM
    said: list[str] = field(default_factory=list)  # what the call controller said itself


def _dt(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


class TurnTracker:
    """Turns of one call; `on_turn` callbacks get each Turn as it ends."""

    FRAME_TYPES = (
        VADUserStartedSpeakingFrame,
        VADUserStoppedSpeakingFrame,
        BotStartedSpeakingFrame,
        BotStoppedSpeakingFrame,
        HeardTextFrame,
        UserBackchannelFrame,
    )

    def __init__(
        self,
        contexts: list | None = None,
        now: Callable[[], float] = time.time,
        *,
        first_seq: int = 0,
    ):
        self._contexts = contexts or []
        self._first_seq = first_seq  # a call back from a transfer numbers on from its record
        self._now = now
        self._listeners: list[Callable[[Turn], None]] = []
        self.turns: list[Turn] = []
        self._caller_started: float | None = None
        self._caller_stopped: float | None = None
        self._latency_from: float | None = None
        self._agent: _AgentTurn | None = None
        self._speaking = False
        self._llm_open = False
        self._last_context_message: object = None
        self._pending_failure: str | None = None

    def on_turn(self, callback: Callable[[Turn], None]) -> None:
        self._listeners.append(callback)

    # --- wiring ----------------------------------------------------------------------------

    def attach(self, worker, processors) -> None:
        """Hook into a call's worker and processors (user/assistant aggregators, router)."""
        from pipecat.processors.aggregators.llm_response_universal import (
            LLMAssistantAggregator,
            LLMUserAggregator,
        )

        worker.add_reached_downstream_filter(self.FRAME_TYPES)
        worker.add_event_handler("on_frame_reached_downstream", self._on_reached)
        for processor in processors:
            if isinstance(processor, LLMUserAggregator):
                processor.add_event_handler("on_user_turn_stopped", self._on_user_turn_stopped)
            elif isinstance(processor, LLMAssistantAggregator):
                processor.add_event_handler("on_assistant_turn_started", self._on_llm_started)
                processor.add_event_handler("on_assistant_turn_stopped", self._on_llm_stopped)
            elif isinstance(processor, IntentRouter):
                processor.add_event_handler("on_route", self._on_route)
            elif isinstance(processor, MessageTaker):
                processor.add_event_handler("on_prompt", self._on_message_prompt)
            elif isinstance(processor, CalleeAnswer):  # an outbound call's first words
                processor.add_event_handler("on_callee_words", self._on_callee_words)
            elif isinstance(processor, CallController):
                processor.add_event_handler("on_turn_failed", self._on_turn_failed)
                processor.add_event_handler("on_dtmf", self._on_dtmf)
                processor.add_event_handler("on_say", self._on_say)

    async def _on_reached(self, _worker, frame) -> None:
        self.on_frame(frame)

    async def _on_user_turn_stopped(self, _aggregator, _strategy, message) -> None:
        self.caller_said(message.content or "")

    async def _on_llm_started(self, _aggregator) -> None:
        self.llm_started()

    async def _on_llm_stopped(self, _aggregator, message) -> None:
        self.llm_stopped(message.content or "", message.interrupted)

    async def _on_route(self, _router, hit) -> None:
        self.routed(hit.route, hit.text, hit.phrase)

    async def _on_turn_failed(self, _controller, frame) -> None:
        self.turn_failed(frame.stage, frame.reason)

    async def _on_callee_words(self, _callee, text: str) -> None:
        self.caller_said(text)

    async def _on_dtmf(self, _controller, digit: str) -> None:
        self.keypad(digit)

    async def _on_say(self, _controller, text: str) -> None:
        self.call_said(text)

    async def _on_message_prompt(self, _taker, _text: str) -> None:
        self.message_prompt()

    # --- inputs ----------------------------------------------------------------------------

    def on_frame(self, frame) -> None:
        if isinstance(frame, VADUserStartedSpeakingFrame):
            if self._caller_started is None:
                self._caller_started = frame.timestamp - frame.start_secs
            self._latency_from = None
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._caller_stopped = self._latency_from = frame.timestamp - frame.stop_secs
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._speaking = True
            now = self._now()
            if self._agent is None:
                self._agent = self._new_agent_turn()
            if self._agent.started is None:
                self._agent.started = now
                if self._latency_from is not None:
                    self._agent.latency_ms = round((now - self._latency_from) * 1000, 1)
            self._latency_from = None
        elif isinstance(frame, UserBackchannelFrame):
            if text := frame.text.strip():
                self._commit_caller(text, source="acknowledgement")
        elif isinstance(frame, HeardTextFrame):
            if self._agent is not None and frame.interrupted:
                self._agent.heard = frame.text
                self._agent.interrupted = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._speaking = False
            if self._agent is not None:
                self._agent.ended = self._now()
            self._maybe_commit_agent()

    def caller_said(self, text: str) -> None:
        text = text.strip()
        if text:
            self._commit_caller(text)

    def keypad(self, digit: str) -> None:
        """The caller pressed a key: a turn of its own, at the moment of the press."""
        now = self._now()
        self._latency_from = now  # the agent's answer to the key is timed from the press
        self._emit(
            Turn(self._next_seq(), "caller", f"pressed {digit}", _dt(now), _dt(now), source="dtmf")
        )

    def routed(self, route: str, text: str, phrase: str) -> None:
        self.caller_said(text)
        if self._agent is None:
            self._agent = self._new_agent_turn()
        self._agent.route, self._agent.route_phrase = route, phrase

    def call_said(self, text: str) -> None:
        """The call controller is saying `text` itself (greeting, prompt, goodbye)."""
        if self._agent is None:
            self._agent = self._new_agent_turn()
        self._agent.said.append(text)

    def message_prompt(self) -> None:
        """The message-taking dialog is saying its next question (as an LLM reply)."""
        if self._agent is None:
            self._agent = self._new_agent_turn()
        self._agent.message = True

    def turn_failed(self, stage: str, reason: str) -> None:
        """A service gave up on the turn: the agent turn under way (a reply cut off), else the
        next one (the fallback phrase the call controller says), is recorded as the failure."""
        failure = f"{stage}:{reason}"[:100]
        if self._agent is not None:
            self._agent.failure = failure
        else:
            self._pending_failure = failure

    def llm_started(self) -> None:
        self._llm_open = True

    def llm_stopped(self, text: str, interrupted: bool) -> None:
        self._llm_open = False
        text = text.strip()
        if text:
            if self._agent is None:
                self._agent = self._new_agent_turn()
            self._agent.texts.append(text)
            self._agent.interrupted = self._agent.interrupted or interrupted
        self._maybe_commit_agent()

    def finish(self) -> None:
        """The call ended: report what was under way (speech cut off by the end of the call
        is `interrupted`, with what was heard unknown: None)."""
        agent = self._agent
        if agent is not None and (agent.started or agent.texts):
            if self._speaking or agent.ended is None:
                agent.interrupted, agent.heard, agent.cut_off = True, None, True
            agent.ended = agent.ended or self._now()
        self._llm_open = self._speaking = False
        self._maybe_commit_agent()

    # --- commits ---------------------------------------------------------------------------

    def _commit_caller(self, text: str, source: str = "caller") -> None:
        now = self._now()
        started = self._caller_started or now
        ended = (
            self._caller_stopped
            if self._caller_stopped and self._caller_stopped >= started
            else now
        )
        self._caller_started = self._caller_stopped = None
        self._emit(Turn(self._next_seq(), "caller", text, _dt(started), _dt(ended), source=source))

    def _new_agent_turn(self) -> _AgentTurn:
        turn = _AgentTurn(failure=self._pending_failure)
        self._pending_failure = None
        return turn

    def _maybe_commit_agent(self) -> None:
        agent = self._agent
        if agent is None or self._speaking or self._llm_open:
            return
        if agent.started is not None and agent.ended is None:
            return
        if agent.started is None and not agent.texts:
            return  # a route hit whose phrase has not played yet
        self._agent = None
        # The controller's words spoken by the TTS come back through the assistant
        # aggregator too, sometimes only in part (cut by the end of the call): its own
        # words win over those echoes.
        replies = [t for t in agent.texts if not any(s.startswith(t) for s in agent.said)]
        if replies:
            source = "message" if agent.message else "llm"
            text = " ".join([*replies, *agent.said])
        elif agent.route_phrase is not None:
            source, text = "route", agent.route_phrase
        elif agent.said:
            source, text = "call", " ".join(agent.said)
        else:
            source, text = "call", self._context_text() or ""
        if agent.failure and source == "call":
            source = "fallback"
        self._last_context_message = self._last_assistant_message()
        text = text.replace(INTERRUPTED_FLAG, "").strip()
        if agent.cut_off:
            heard = None
        elif agent.interrupted:
            heard = (agent.heard or "").replace(INTERRUPTED_FLAG, "").strip()
        else:
            heard = text if agent.started is not None else ""
        self._emit(
            Turn(
                self._next_seq(),
                "agent",
                text,
                _dt(agent.started),
                _dt(agent.ended or agent.started),
                heard_text=heard,
                interrupted=agent.interrupted,
                source=source,
                route=agent.route,
                latency_ms=agent.latency_ms,
                failure=agent.failure,
            )
        )

    def _last_assistant_message(self):
        for context in self._contexts:
            for message in reversed(context.get_messages()):
                if isinstance(message, dict) and message.get("role") == "assistant":
                    return message
        return None

    def _context_text(self) -> str | None:
        message = self._last_assistant_message()
        if message is None or message is self._last_context_message:
            return None
        content = message.get("content")
        return content if isinstance(content, str) else None

    def _next_seq(self) -> int:
        return self._first_seq + len(self.turns)

    def _emit(self, turn: Turn) -> None:
        self.turns.append(turn)
        for listener in self._listeners:
            listener(turn)

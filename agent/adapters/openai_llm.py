"""pipecat's OpenAI-style LLM services (Groq, any OpenAI-compatible server), entered where
they have no public door.

`ResilientGroqLLMService` and `ResilientOpenAILLMService` are pipecat's services with two changes
(`_SharedClientRetryPolicy`, a mixin):

- **One client per process** (key, base URL), kept in the process cache (`ctx.shared`): pipecat
  builds an AsyncOpenAI client (an httpx pool and a TLS context, ~20 ms of blocking CPU) for
  every service, i.e. every call, and never closes it. Its httpx transport is wrapped
  (`keep_connections_reusable`) so that a streamed answer read to `[DONE]` leaves its
  connection reusable (agent/nodes/llm_http.py). The openai client exposes no public way
  to wrap the transport of a client already built: this reads `client._client._transport`.
  The client's own retries are turned off (`max_retries=0`): one policy, the next one.
- **One retry, then a spoken fallback** (policy in agent/nodes/llm_resilience.py): pipecat's
  `_process_context(context)` is wrapped, the turn's budget split over the attempts in
  `get_chat_completions`, the retry may ask `fallback_model`, and when it gives up a
  `TurnFailedFrame(stage="llm")` goes upstream to the call controller.
- **A speculative request that fails says nothing** (`_give_up`): while pipecat's
  `_speculation_gate.is_speculating`, the answer is withdrawn (`EagerEndOfTurnCancelFrame`)
  instead of the fallback phrase; the confirmed turn then asks the LLM as usual.
- **A probe for traces** (`bind_probe`, agent/telemetry/): when tracing is on, each attempt
  reports its request (model), first streamed chunk, token usage (pipecat asks for it:
  `stream_options.include_usage`) and end, from the hooks pipecat already calls
  (`build_chat_completion_params`, `stop_ttfb_metrics`, `start_llm_usage_metrics`), whether
  or not pipecat's metrics are on. Unbound (tracing off), each is one `is None` test.

tests/adapters/test_openai_llm.py names each pipecat and openai behaviour relied on.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import httpx2
from loguru import logger
from pipecat.frames.frames import EagerEndOfTurnCancelFrame, LLMTextFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.groq.llm import GroqLLMService
from pipecat.services.openai.llm import OpenAILLMService

from agent.graph.build import ProcessCache
from agent.nodes.llm_http import ReusableStreamTransport
from agent.nodes.llm_resilience import (
    DEFAULT_BUDGET_S,
    MIN_ATTEMPT_S,
    LLMTurnFailed,
    failure_reason,
    retry_after_s,
    retryable,
)
from processors.frames import TurnFailedFrame


class LLMRequestProbe(Protocol):
    """Who hears about each LLM request (agent/telemetry/stages.py StageCollector)."""

    def llm_request(self, model: str | None) -> None: ...

    def llm_first_token(self) -> None: ...

    def llm_usage(
        self, input_tokens: int | None, output_tokens: int | None, model: str | None
    ) -> None: ...

    def llm_done(self, error: str | None) -> None: ...


def keep_connections_reusable(client) -> bool:
    """Wrap the transport of an openai `AsyncOpenAI` client (in place); False if the
    client's httpx internals are not where expected (it then works as before)."""
    http = getattr(client, "_client", None)
    transport = getattr(http, "_transport", None)
    if not isinstance(transport, httpx2.AsyncBaseTransport):
        logger.warning("LLM client: unknown httpx layout; each turn opens a new connection")
        return False
    if not isinstance(transport, ReusableStreamTransport):
        http._transport = ReusableStreamTransport(transport)
    return True


class _SharedClientRetryPolicy:
    """Mixin before a pipecat OpenAI-style LLM service class: shared client, retry policy."""

    def __init__(
        self,
        *,
        shared: ProcessCache,
        budget_s: float = DEFAULT_BUDGET_S,
        fallback_model: str | None = None,
        **kwargs,
    ):
        self._shared = shared
        self._budget_s = budget_s
        self._fallback_model = fallback_model
        self._retrying = False
        self._turn_deadline = 0.0
        self._turn_text_pushed = False
        self._probe: LLMRequestProbe | None = None
        kwargs["retry_on_timeout"] = False  # our policy, not pipecat's unbounded re-ask
        super().__init__(**kwargs)
        self.turn_failures: list[str] = []

    def bind_probe(self, probe: LLMRequestProbe) -> None:
        """Report each request's timings to `probe` (tracing on)."""
        self._probe = probe

    @property
    def probe(self) -> LLMRequestProbe | None:
        return self._probe

    def create_client(self, api_key=None, base_url=None, **kwargs):
        key = ("llm", "client", type(self).__name__, api_key, base_url)

        def create():
            client = (
                super(_SharedClientRetryPolicy, self)
                .create_client(api_key=api_key, base_url=base_url, **kwargs)
                .with_options(max_retries=0)
            )
            keep_connections_reusable(client)
            return client

        return self._shared.get_or_create(key, create)

    async def _process_context(self, context):
        loop = asyncio.get_running_loop()
        self._turn_deadline = loop.time() + self._budget_s
        attempt = 1
        while True:
            self._turn_text_pushed = False
            self._retrying = attempt > 1
            try:
                result = await super()._process_context(context)
            except BaseException as exc:
                if not isinstance(exc, Exception):  # cancelled (an interruption)
                    if self._probe is not None:
                        self._probe.llm_done("cancelled")
                    raise
                if self._probe is not None:
                    self._probe.llm_done(failure_reason(exc))
                left = self._turn_deadline - loop.time()
                wait = retry_after_s(exc)
                again = (
                    attempt == 1
                    and retryable(exc)
                    and not self._turn_text_pushed
                    and left - wait >= MIN_ATTEMPT_S
                )
                if not again:
                    await self._give_up(exc)
                    raise LLMTurnFailed(failure_reason(exc)) from exc
                logger.warning(
                    f"{self}: {failure_reason(exc)}; retrying once ({left - wait:.1f}s left)"
                )
                attempt += 1
                if wait:
                    await asyncio.sleep(wait)
            else:
                if self._probe is not None:
                    self._probe.llm_done(None)
                return result

    async def get_chat_completions(self, context):
        # The first attempt gets half the budget (a hung request leaves room for a retry);
        # the retry gets whatever is left.
        loop = asyncio.get_running_loop()
        left = self._turn_deadline - loop.time()
        first = left >= self._budget_s - 0.05
        timeout = left / 2 if first else left
        if timeout <= 0:
            raise TimeoutError("LLM turn budget spent")
        return await asyncio.wait_for(super().get_chat_completions(context), timeout)

    def build_chat_completion_params(self, params_from_context) -> dict:
        params = super().build_chat_completion_params(params_from_context)
        if self._retrying and self._fallback_model:
            params["model"] = self._fallback_model
        if self._probe is not None:
            self._probe.llm_request(params.get("model"))
        return params

    async def stop_ttfb_metrics(self, *, end_time: float | None = None):
        if self._probe is not None:  # pipecat calls it at each chunk with choices
            self._probe.llm_first_token()
        await super().stop_ttfb_metrics(end_time=end_time)

    async def start_llm_usage_metrics(self, tokens):
        if self._probe is not None:
            self._probe.llm_usage(
                tokens.prompt_tokens, tokens.completion_tokens, self.get_full_model_name()
            )
        await super().start_llm_usage_metrics(tokens)

    async def push_frame(self, frame, direction=FrameDirection.DOWNSTREAM):
        if isinstance(frame, LLMTextFrame):
            self._turn_text_pushed = True
        await super().push_frame(frame, direction)

    async def _give_up(self, exc: BaseException) -> None:
        reason = failure_reason(exc)
        if self._speculation_gate.is_speculating:
            # A speculative answer (agent/adapters/listening_turns.py ListeningTurnStop) failed before
            # its turn was certain: nothing is said; withdrawn, the confirmed turn asks anew.
            logger.info(f"{self}: speculative request failed ({reason}); withdrawn")
            await self.broadcast_frame(EagerEndOfTurnCancelFrame)
            return
        if self._turn_text_pushed:
            reason = f"stream_cut_after_text ({reason})"
        self.turn_failures.append(reason)
        logger.warning(f"{self}: giving up on the turn: {reason}")
        await super().push_frame(
            TurnFailedFrame(stage="llm", reason=reason), FrameDirection.UPSTREAM
        )


class ResilientGroqLLMService(_SharedClientRetryPolicy, GroqLLMService):
    """pipecat's Groq service: one client per process, one retry then the fallback phrase."""


class ResilientOpenAILLMService(_SharedClientRetryPolicy, OpenAILLMService):
    """pipecat's OpenAI service (any OpenAI-compatible server), as ResilientGroqLLMService."""

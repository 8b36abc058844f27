"""One retry, then a spoken fallback: what an OpenAI-style LLM service does when the provider fails.

pipecat's OpenAI services leave this to the openai client (two retries of 429 and 5xx with
its own backoff, Retry-After honoured up to 60 s, a 600 s read timeout) and, optionally, one
re-ask after a timeout with no limit at all. A caller would sit in silence through all of
it. `resilient(base)` makes a subclass with a policy measured in the caller's patience:

- a turn has `budget_s` (default 4 s) to get the answer's stream started;
- the first attempt may use half of it, so a hung request leaves time for a second one;
- a 5xx, a connection error or a timeout is retried once, at once, within the budget; a 429
  is retried once after its Retry-After, if that still fits in the budget;
- a stream cut before any text is retried the same way; a stream cut after text was spoken
  is not (the caller would hear the start twice);
- the retry may ask another model (`fallback_model`, e.g. a smaller one on the same
  provider), for when the first model is the one in trouble;
- when it gives up, a `TurnFailedFrame(stage="llm")` goes upstream to the call controller,
  which says the graph's `fallback` phrase (from the audio cache: no TTS needed), and the
  error is reported as pipecat does (`ErrorFrame`, service still usable). The call goes on.

The client's own retries are turned off (`max_retries=0`) so there is one policy, this one.
"""

from __future__ import annotations

import asyncio
import functools

from loguru import logger

from processors.frames import TurnFailedFrame

DEFAULT_BUDGET_S = 4.0
MIN_ATTEMPT_S = 0.3  # no second attempt with less time than this left


class LLMTurnFailed(Exception):
    """The provider did not answer within the turn's budget, after the retry."""

    def __init__(self, reason: str):
        super().__init__(f"LLM gave up on the turn: {reason}")
        self.reason = reason


def failure_reason(exc: BaseException) -> str:
    """A short, secret-free name for what went wrong ("timeout", "http_503", ...)."""
    import openai

    if isinstance(exc, (TimeoutError, openai.APITimeoutError)):
        return "timeout"
    if isinstance(exc, openai.APIStatusError):
        return f"http_{exc.status_code}"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, LLMTurnFailed):
        return exc.reason
    return type(exc).__name__


def retryable(exc: BaseException) -> bool:
    import httpx
    import openai

    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(
        exc,
        (TimeoutError, openai.APITimeoutError, openai.APIConnectionError, httpx.TransportError),
    )


def retry_after_s(exc: BaseException) -> float:
    """The wait a 429 asks for (Retry-After / retry-after-ms), else 0."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        return float(headers.get("retry-after", 0) or 0)
    except ValueError:
        return 0.0


@functools.cache
def resilient(base: type) -> type:
    """`base` (a pipecat OpenAI-style LLM service class) with the retry-then-fallback policy."""
    # Imported once here, not in push_frame, which runs for every frame the service pushes.
    from pipecat.frames.frames import LLMTextFrame
    from pipecat.processors.frame_processor import FrameDirection

    class ResilientLLMService(base):
        def __init__(
            self, *, budget_s: float = DEFAULT_BUDGET_S, fallback_model: str | None = None, **kwargs
        ):
            self._budget_s = budget_s
            self._fallback_model = fallback_model
            self._retrying = False
            self._turn_deadline = 0.0
            self._turn_text_pushed = False
            kwargs["retry_on_timeout"] = False  # our policy, not pipecat's unbounded re-ask
            super().__init__(**kwargs)
            self.turn_failures: list[str] = []

        async def _process_context(self, context):
            loop = asyncio.get_running_loop()
            self._turn_deadline = loop.time() + self._budget_s
            attempt = 1
            while True:
                self._turn_text_pushed = False
                self._retrying = attempt > 1
                try:
                    return await super()._process_context(context)
                except Exception as exc:
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

        async def get_chat_completions(self, context):
            # The first attempt gets half the budget (a hung request leaves room for a
            # retry); the retry gets whatever is left.
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
            return params

        async def push_frame(self, frame, direction=FrameDirection.DOWNSTREAM):
            if isinstance(frame, LLMTextFrame):
                self._turn_text_pushed = True
            await super().push_frame(frame, direction)

        async def _give_up(self, exc: BaseException) -> None:
            reason = failure_reason(exc)
            if self._turn_text_pushed:
                reason = f"stream_cut_after_text ({reason})"
            self.turn_failures.append(reason)
            logger.warning(f"{self}: giving up on the turn: {reason}")
            await super().push_frame(
                TurnFailedFrame(stage="llm", reason=reason), FrameDirection.UPSTREAM
            )

        def create_client(self, api_key=None, base_url=None, **kwargs):
            # One policy: ours. The openai client would otherwise retry twice more itself.
            return (
                super()
                .create_client(api_key=api_key, base_url=base_url, **kwargs)
                .with_options(max_retries=0)
            )

    ResilientLLMService.__name__ = f"Resilient{base.__name__}"
    return ResilientLLMService

"""One retry, then a spoken fallback: what an OpenAI-style LLM service does when the provider fails.

pipecat's OpenAI services leave this to the openai client (two retries of 429 and 5xx with
its own backoff, Retry-After honoured up to 60 s, a 600 s read timeout) and, optionally, one
re-ask after a timeout with no limit at all. A caller would sit in silence through all of
it. The services of agent/adapters/openai_llm.py follow a policy measured in the caller's
patience instead; this module holds its constants and its judgement of errors:

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

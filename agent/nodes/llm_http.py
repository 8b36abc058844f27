"""Keep the LLM provider's connections reusable after a streamed answer.

openai's client (3.x) stops reading a streamed completion at `data: [DONE]` and closes the
response before the end of the HTTP body (chunked encoding's last, empty chunk) has been
read. httpcore cannot reuse a connection whose response was not read to its end, so it
closed it: every turn of every call opened a new connection to the provider. Against Groq
that is a TCP and a TLS handshake (round trips and a few ms of CPU) before each answer can
even be asked for; at 100 calls in one process against the local fake, connecting alone took
0.12 s (p50) of every turn.

`ReusableStreamTransport` wraps the client's transport (put in place by
agent/adapters/openai_llm.py). When a streamed (server-sent
events) response that has delivered `[DONE]` is closed, it first reads what is left of the
body (normally just that last chunk, already on its way), at most DRAIN_MAX_BYTES within
DRAIN_TIMEOUT_S, so the connection goes back to the pool. A response closed before its end
(a barge-in cancels the stream mid-answer) is closed at once, as before: draining it would
wait for the rest of an answer nobody will hear. Other responses are read whole by the
client already and are left as they are.
"""

from __future__ import annotations

import asyncio

import httpx2
from loguru import logger

DONE_MARKER = b"[DONE]"
DRAIN_MAX_BYTES = 64 * 1024
DRAIN_TIMEOUT_S = 1.0


class _DrainingStream(httpx2.AsyncByteStream):
    """A response body that, once `[DONE]` has passed through, is read to its end on close."""

    def __init__(self, inner: httpx2.AsyncByteStream):
        self._inner = inner
        self._tail = b""  # the last bytes seen: enough to spot the marker split across chunks

    async def __aiter__(self):
        async for chunk in self._inner:
            keep = 2 * len(DONE_MARKER)  # the stream's last bytes, copied a few at a time
            self._tail = (self._tail + chunk[-keep:])[-keep:]
            yield chunk

    async def aclose(self) -> None:
        if DONE_MARKER in self._tail:
            self._tail = b""
            try:
                async with asyncio.timeout(DRAIN_TIMEOUT_S):
                    drained = 0
                    async for chunk in self._inner:
                        drained += len(chunk)
                        if drained > DRAIN_MAX_BYTES:
                            break
            except (Exception, TimeoutError) as exc:  # the connection is then just closed
                logger.debug(f"LLM response not drained: {exc.__class__.__name__}")
        await self._inner.aclose()


class ReusableStreamTransport(httpx2.AsyncBaseTransport):
    """An httpx transport whose streamed responses leave their connection reusable."""

    def __init__(self, inner: httpx2.AsyncBaseTransport):
        self.inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            response.stream = _DrainingStream(response.stream)  # others are read whole
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

"""agent/nodes/llm_http.py: streamed answers leave their connection to the provider reusable.

Against the Groq fake with openai's real client, configured as pipecat configures it: read to
`[DONE]`, a streamed answer's connection goes back to the pool (without the wrapper, openai
closes it and every turn connects anew); a stream abandoned mid-answer is closed at once."""

from __future__ import annotations

import asyncio

from agent.graph.build import ProcessCache
from agent.nodes.llm_http import ReusableStreamTransport, keep_connections_reusable

KEY = "gq-test-key"


def _client(fakes, *, reusable: bool):
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient
    from pipecat.services.openai.base_llm import connection_limits

    client = AsyncOpenAI(
        api_key=KEY,
        base_url=fakes.env()["GROQ_BASE_URL"],
        http_client=DefaultAsyncHttpxClient(
            limits=connection_limits(
                max_keepalive_connections=100, max_connections=1000, keepalive_expiry=None
            )
        ),
        max_retries=0,
    )
    if reusable:
        assert keep_connections_reusable(client)
    return client


def _pool(client):
    transport = client._client._transport
    return getattr(transport, "inner", transport)._pool


async def _answer(client, fakes) -> str:
    stream = await client.chat.completions.create(
        model=fakes.groq.models[0], messages=[{"role": "user", "content": "hello"}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    await stream.close()
    return text


async def test_streamed_answers_reuse_one_connection(fakes):
    client = _client(fakes, reusable=True)
    for n in (1, 2, 3):
        assert await _answer(client, fakes) == "You said: hello."
        [connection] = _pool(client).connections
        assert connection.is_idle() and f"Request Count: {n}" in repr(connection)


async def test_without_it_every_answer_opens_a_connection(fakes):
    # The control: openai stops reading at [DONE], so httpcore drops the connection.
    client = _client(fakes, reusable=False)
    for _ in range(2):
        assert await _answer(client, fakes) == "You said: hello."
        assert _pool(client).connections == []


async def test_an_abandoned_stream_is_closed_at_once(fakes):
    fakes.groq.default_reply = " ".join(["word"] * 40)
    fakes.groq.token_interval_s = 0.25  # the whole answer would take 10 s
    client = _client(fakes, reusable=True)
    stream = await client.chat.completions.create(
        model=fakes.groq.models[0], messages=[{"role": "user", "content": "hi"}], stream=True
    )
    async for _chunk in stream:
        break  # a barge-in: nobody wants the rest
    loop = asyncio.get_running_loop()
    started = loop.time()
    await stream.close()
    assert loop.time() - started < 2.0  # not the ~10 s the rest of the answer takes
    assert _pool(client).connections == []  # closed, not waited for


def test_the_groq_nodes_shared_client_is_wrapped():
    from pipecat.services.groq.llm import GroqLLMService

    from agent.nodes.groq import shared_client_service_class
    from agent.nodes.llm_resilience import resilient

    service = shared_client_service_class(resilient(GroqLLMService))(
        shared=ProcessCache(), api_key=KEY, base_url="http://127.0.0.1:9/openai/v1"
    )
    assert isinstance(service._client._client._transport, ReusableStreamTransport)

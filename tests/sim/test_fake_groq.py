"""The Groq fake, driven by the real clients: pipecat's GroqLLMService and openai's AsyncOpenAI."""

import asyncio
import json

import openai
import pytest
from openai import AsyncOpenAI
from pipecat.frames.frames import ErrorFrame, LLMContextFrame, LLMTextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.groq.llm import GroqLLMService
from pipecat.tests.utils import run_test

from agent.sim.fakes import ProviderFakes, ToolCall
from agent.sim.fakes.groq import DEFAULT_TOKENS_PER_S, tokenize

MODEL = "llama-3.3-70b-versatile"


@pytest.fixture
async def fakes():
    async with ProviderFakes() as fakes:
        yield fakes


def client(fakes: ProviderFakes, **kwargs) -> AsyncOpenAI:
    return AsyncOpenAI(api_key="gsk-test", base_url=fakes.env()["GROQ_BASE_URL"], **kwargs)


def groq(fakes: ProviderFakes) -> GroqLLMService:
    return GroqLLMService(
        api_key="gsk-test",
        base_url=fakes.env()["GROQ_BASE_URL"],
        settings=GroqLLMService.Settings(model=MODEL),
    )


def ask(text: str) -> LLMContextFrame:
    return LLMContextFrame(LLMContext(messages=[{"role": "user", "content": text}]))


async def test_models_list(fakes):
    models = await client(fakes).models.list()
    ids = [m.id for m in models.data]
    assert "llama-3.3-70b-versatile" in ids and "llama-3.1-8b-instant" in ids


async def test_pipecat_llm_streams_the_matching_reply(fakes):
    fakes.groq.replies = [("OPEN", "We open at nine, and close at five.")]
    fakes.groq.token_interval_s = 0.001

    down, _ = await run_test(groq(fakes), frames_to_send=[ask("When do you open?")])

    pieces = [f.text for f in down if isinstance(f, LLMTextFrame)]
    assert "".join(pieces) == "We open at nine, and close at five." and len(pieces) > 5
    [body] = fakes.groq.requests
    assert body["model"] == MODEL and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][-1] == {"role": "user", "content": "When do you open?"}


async def test_default_reply_and_chunk_shapes(fakes):
    stream = await client(fakes).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi there"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said: hi there."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


async def test_non_streaming_completion(fakes):
    completion = await client(fakes).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "ping"}]
    )
    assert completion.choices[0].message.content == "You said: ping."
    assert completion.choices[0].finish_reason == "stop"


async def test_tool_call_reply(fakes):
    fakes.groq.replies = [("book", ToolCall("book_table", {"people": 2}))]
    messages = [{"role": "user", "content": "Book a table for two"}]
    stream = await client(fakes).chat.completions.create(
        model=MODEL, messages=messages, stream=True
    )
    calls = [c.choices[0].delta.tool_calls for c in [x async for x in stream] if c.choices]
    [call] = [tc[0] for tc in calls if tc]
    assert call.function.name == "book_table" and json.loads(call.function.arguments) == {
        "people": 2
    }
    # Once the tool result is in the context, the fake answers in words.
    tool_turn = [
        *messages,
        {"role": "assistant", "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "booked"},
    ]
    completion = await client(fakes).chat.completions.create(model=MODEL, messages=tool_turn)
    assert completion.choices[0].message.content == fakes.groq.tool_result_reply


async def test_429_is_a_rate_limit_error_with_retry_after(fakes):
    fakes.groq.fail_next = ["429"]
    fakes.groq.retry_after_s = 0.05
    with pytest.raises(openai.RateLimitError) as error:
        await client(fakes, max_retries=0).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    assert error.value.response.headers["retry-after"] == "0.05"
    assert error.value.body["code"] == "rate_limit_exceeded"

    # The openai client retries a 429 by itself, honouring Retry-After.
    fakes.groq.fail_next = ["429"]
    completion = await client(fakes, max_retries=1).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "again"}]
    )
    assert completion.choices[0].message.content == "You said: again."
    assert fakes.groq.faults_served == ["429", "429"] and fakes.groq.request_count == 3


async def test_500_and_unknown_model_and_bad_key(fakes):
    fakes.groq.fail_next = ["500"]
    with pytest.raises(openai.InternalServerError):
        await client(fakes, max_retries=0).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.NotFoundError) as missing:
        await client(fakes).chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert missing.value.body["code"] == "model_not_found"
    fakes.groq.expected_key = "gsk-right"
    with pytest.raises(openai.AuthenticationError):
        await client(fakes).models.list()


async def test_cut_stream_breaks_the_client_mid_reply(fakes):
    fakes.groq.fail_next = ["cut"]
    fakes.groq.cut_after_tokens = 2
    fakes.groq.replies = [("", "One two three four five.")]

    down, up = await run_test(groq(fakes), frames_to_send=[ask("count")])

    assert "".join(f.text for f in down if isinstance(f, LLMTextFrame)) == "One two"
    assert any("Error during completion" in f.error for f in up if isinstance(f, ErrorFrame))


async def test_hang_until_the_client_times_out(fakes):
    fakes.groq.fail_next = ["hang"]
    with pytest.raises(openai.APITimeoutError):
        await client(fakes, max_retries=0, timeout=0.3).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hello?"}]
        )
    # The fake is fine afterwards.
    assert (await client(fakes).models.list()).data


async def test_stream_is_paced_like_groq_by_default(fakes):
    """The answer's pieces follow the first token at DEFAULT_TOKENS_PER_S, not in one burst."""
    reply = "We open at nine in the morning, and we close at five in the evening."
    fakes.groq.replies = [("open", reply)]
    assert fakes.groq.token_interval_s == pytest.approx(1 / DEFAULT_TOKENS_PER_S)
    fakes.groq.token_interval_s = 0.02  # slow enough to see on a loaded machine

    loop = asyncio.get_running_loop()
    stream = await client(fakes).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "open?"}], stream=True
    )
    arrivals = []
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(loop.time())
    pieces = len(tokenize(reply))
    assert len(arrivals) == pieces
    # pieces - 1 gaps of 0.02 s: the last piece comes well after the first
    assert arrivals[-1] - arrivals[0] >= 0.02 * (pieces - 1) * 0.9


async def test_zero_interval_sends_the_answer_in_one_burst(fakes):
    fakes.groq.token_interval_s = 0.0
    fakes.groq.replies = [("open", "We open at nine, and close at five.")]
    loop = asyncio.get_running_loop()
    stream = await client(fakes).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "open?"}], stream=True
    )
    arrivals = [loop.time() async for c in stream if c.choices and c.choices[0].delta.content]
    assert len(arrivals) > 5 and arrivals[-1] - arrivals[0] < 0.05

"""agent/adapters/openai_llm.py: the pipecat OpenAI-service internals and the openai client
layout the shared-client, retry-policy services rely on."""

from __future__ import annotations

import httpx2
from openai import AsyncOpenAI
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.services.openai.base_llm import BaseOpenAILLMService

from agent.adapters.openai_llm import ResilientGroqLLMService, ResilientOpenAILLMService
from agent.graph.build import ProcessCache
from agent.nodes.llm_http import ReusableStreamTransport
from tests.adapters.contract import assert_callable, assert_source_mentions


def test_pipecat_openai_service_hooks():
    cls = BaseOpenAILLMService
    assert_callable(cls, "_process_context", ["self", "context"], is_async=True)
    assert_source_mentions(cls, "process_frame", "self._process_context(")
    assert_callable(cls, "get_chat_completions", ["self", "context"], is_async=True)
    assert_source_mentions(cls, "_process_context", "self.get_chat_completions(")
    assert_callable(cls, "build_chat_completion_params", ["self", "params_from_context"])
    assert_source_mentions(cls, "__init__", "self.create_client(", "retry_on_timeout")


def test_openai_client_layout_and_one_client_per_process():
    shared = ProcessCache()
    kwargs = {"shared": shared, "api_key": "k", "base_url": "http://127.0.0.1:9/v1"}
    first = ResilientGroqLLMService(**kwargs)
    second = ResilientGroqLLMService(**kwargs)
    other = ResilientOpenAILLMService(**kwargs)
    client = first._client
    assert isinstance(client, AsyncOpenAI) and client is second._client
    assert other._client is not client  # one per service class, key and URL
    assert client.max_retries == 0  # one retry policy: ours
    # The private layout keep_connections_reusable() swaps a transport in.
    assert isinstance(client._client, httpx2.AsyncClient), "openai client changed"
    assert isinstance(client._client._transport, ReusableStreamTransport)
    assert first._retry_on_timeout is False


def test_pipecat_calls_the_hooks_the_trace_probe_reads():
    """The probe (bind_probe) hears the first chunk from `stop_ttfb_metrics` and the usage
    from `start_llm_usage_metrics`, called whether or not pipecat's metrics are on; the
    usage comes because pipecat asks for it (`include_usage`)."""
    cls = BaseOpenAILLMService
    assert_source_mentions(
        cls, "_process_context", "self.stop_ttfb_metrics()", "self.start_llm_usage_metrics("
    )
    assert_source_mentions(cls, "build_chat_completion_params", '"include_usage": True')
    assert_callable(FrameProcessor, "stop_ttfb_metrics", ["self", "end_time"], is_async=True)
    assert_callable(FrameProcessor, "start_llm_usage_metrics", ["self", "tokens"], is_async=True)

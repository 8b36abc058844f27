"""agent/adapters/deepgram.py: the Deepgram SDK functions patched and the pipecat Deepgram
internals the resilient and uncompressed services rely on."""

from __future__ import annotations

import asyncio

from deepgram import AsyncDeepgramClient, base_client
from deepgram.listen.v1 import client as listen_v1_client
from pipecat.services.deepgram.flux.stt import DeepgramFluxSTTService
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.services.websocket_service import WebsocketService

from agent.adapters.deepgram import ResilientDeepgramSTTService, patch_sdk, uncompressed
from tests.adapters.contract import assert_callable, assert_has_attrs, assert_source_mentions


def test_sdk_functions_the_patches_replace():
    # patch_sdk() may already have run in this process: check the SDK's callers, and that
    # the names are still module attributes the callers look up at call time.
    assert hasattr(base_client, "_make_default_async_client"), "deepgram SDK changed"
    assert_source_mentions(
        base_client.AsyncBaseClient, "__init__", "_make_default_async_client(timeout="
    )
    assert hasattr(listen_v1_client, "websockets_client_connect"), "deepgram SDK changed"
    assert_source_mentions(listen_v1_client.AsyncV1Client, "connect", "websockets_client_connect(")


def test_patched_sdk_shares_one_http_client_and_offers_no_compression():
    patch_sdk()
    patch_sdk()  # once per process, however often it is called
    assert base_client._make_default_async_client.__name__ == "shared_client"
    assert listen_v1_client.websockets_client_connect.__name__ == "connect_uncompressed"
    first = AsyncDeepgramClient(api_key="k")
    second = AsyncDeepgramClient(api_key="k")
    # What pipecat's service builds: SDK clients whose httpx client is one and the same.
    assert first._client_wrapper.httpx_client.httpx_client is (
        second._client_wrapper.httpx_client.httpx_client
    )
    seen = []
    uncompressed(lambda *a, **kw: seen.append(kw))("ws://x", extra_headers={})
    uncompressed(lambda *a, **kw: seen.append(kw))("ws://x", compression="deflate")
    assert seen == [{"extra_headers": {}, "compression": None}, {"compression": "deflate"}]


def test_pipecat_deepgram_internals_the_resilient_service_uses():
    cls = DeepgramSTTService
    assert_callable(cls, "_connection_handler", ["self"], is_async=True)
    assert_source_mentions(cls, "_connect", "self._connection_handler()")
    assert_callable(cls, "_on_message", ["self", "message"], is_async=True)
    assert_callable(cls, "_on_error", ["self", "error"], is_async=True)
    assert_callable(cls, "_keepalive_handler", ["self"], is_async=True)
    assert_callable(cls, "_build_connect_kwargs", ["self"], is_async=False)
    service = ResilientDeepgramSTTService(api_key="k", sample_rate=8000)
    assert_has_attrs(service, "_client", "_connection", "_connection_settled")
    assert isinstance(service._client, AsyncDeepgramClient)
    assert isinstance(service._connection_settled, asyncio.Event)
    assert hasattr(service._client.listen.v1, "connect")


def test_pipecat_flux_opens_its_socket_through_websocket_connect():
    assert_callable(
        WebsocketService, "_websocket_connect", ["self", "uri", "kwargs"], is_async=True
    )
    assert_source_mentions(DeepgramFluxSTTService, "_connect_websocket", "self._websocket_connect(")

"""agent/adapters/cartesia.py: the pipecat internals the Cartesia TTS adapter relies on.

If a pipecat upgrade changes one of these, this file fails first, and names it.
"""

from __future__ import annotations

import asyncio
import inspect

from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.services.tts_service import TTSService
from pipecat.services.websocket_service import WebsocketService
from pipecat.utils.context.audio_context_manager import AudioContextManager

from agent.adapters.cartesia import ResilientCartesiaTTSService
from tests.adapters.contract import assert_callable, assert_has_attrs, assert_source_mentions


async def test_audio_context_manager_keeps_a_queue_per_context_and_skips_keepalives():
    manager = AudioContextManager()
    assert_has_attrs(manager, "_contexts", "_remainders", "_KEEPALIVE")
    await manager.create("ctx")
    assert isinstance(manager._contexts["ctx"], asyncio.Queue), "upstream changed: _contexts"
    assert isinstance(manager._remainders, dict), "upstream changed: _remainders"
    manager.keepalive("ctx")
    assert manager._contexts["ctx"].get_nowait() is manager._KEEPALIVE
    # The queue's deque holds what waits, in order (join_waiting_audio appends to its last).
    await manager.append("ctx", "item")
    assert list(manager._contexts["ctx"]._queue) == ["item"], "upstream changed: Queue._queue"
    assert_source_mentions(AudioContextManager, "get", "self._KEEPALIVE")


def test_playback_awaits_next_audio_context_item_for_each_item():
    assert_callable(TTSService, "_next_audio_context_item", ["self", "context_id"], is_async=True)
    assert_source_mentions(TTSService, "_handle_audio_context", "self._next_audio_context_item(")
    assert_source_mentions(TTSService, "__init__", "self._audio_context_manager =")


def test_the_receive_loop_returns_when_the_socket_goes_down():
    assert_callable(CartesiaTTSService, "_receive_messages", ["self"], is_async=True)
    assert inspect.iscoroutinefunction(CartesiaTTSService.append_to_audio_context)
    assert_source_mentions(WebsocketService, "__init__", "self._disconnecting")
    assert_source_mentions(WebsocketService, "_disconnect", "self._disconnecting = True")


def test_the_adapter_builds_with_pipecats_constructor():
    service = ResilientCartesiaTTSService(
        api_key="k",
        url="ws://127.0.0.1:9/tts/websocket",
        sample_rate=8000,
        encoding="pcm_s16le",
        container="raw",
        settings=ResilientCartesiaTTSService.Settings(voice="v", model="sonic", language="en"),
    )
    assert isinstance(service._audio_context_manager, AudioContextManager)
    assert service._disconnecting is False

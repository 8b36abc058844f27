"""agent/adapters/transport.py: the pipecat (and aiohttp) behaviour agent/twilio/ relies on.

If a pipecat or aiohttp upgrade changes one of these, this file fails first, and names it.
"""

from __future__ import annotations

import asyncio
import inspect

import aiohttp
from aiohttp import web
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport

from agent.adapters.events import declare_event, fire_event
from agent.adapters.transport import ws_has_waiting_message
from agent.twilio.transport import TwilioInputTransport, TwilioOutputTransport
from tests.twilio.test_send_clock import ws_server


class Owner(BaseTransport):
    def input(self):
        return None

    def output(self):
        return None


async def test_an_event_declared_and_fired_reaches_handlers_added_the_public_way():
    """pipecat's BaseObject: `_register_event_handler` declares an event, `event_handler`
    subscribes, `_call_event_handler` runs each handler (in a task) with the owner first."""
    owner = Owner()
    declare_event(owner, "on_caller_hung_up")
    got: list = []
    done = asyncio.Event()

    @owner.event_handler("on_caller_hung_up")
    async def handler(source, reason):
        got.append((source, reason))
        done.set()

    await fire_event(owner, "on_caller_hung_up", "stop")
    await asyncio.wait_for(done.wait(), 5)
    assert got == [(owner, "stop")]


async def test_an_undeclared_event_reaches_nobody():
    owner = Owner()
    called: list = []
    owner.add_event_handler("on_nothing", lambda *args: called.append(args))  # warns only
    await fire_event(owner, "on_nothing")
    assert called == []


def test_the_transport_methods_we_override_keep_their_names_and_signatures():
    """TwilioInputTransport / TwilioOutputTransport override these public pipecat methods;
    a rename would leave ours uncalled (audio straight on, our own pause flag, sending)."""
    expected = {
        BaseInputTransport: {
            "start": ["self", "frame"],
            "stop": ["self", "frame"],
            "cancel": ["self", "frame"],
            "pause": ["self", "frame"],
            "push_audio_frame": ["self", "frame"],
            "set_transport_ready": ["self", "frame"],
        },
        BaseOutputTransport: {
            "setup": ["self", "setup"],
            "start": ["self", "frame"],
            "stop": ["self", "frame"],
            "cancel": ["self", "frame"],
            "send_message": ["self", "frame"],
            "write_transport_frame": ["self", "frame"],
            "write_audio_frame": ["self", "frame"],
            "set_transport_ready": ["self", "frame"],
        },
    }
    for base, methods in expected.items():
        for name, params in methods.items():
            method = getattr(base, name)
            assert inspect.iscoroutinefunction(method), (base.__name__, name)
            assert list(inspect.signature(method).parameters) == params, (base.__name__, name)
    assert issubclass(TwilioInputTransport, BaseInputTransport)
    assert issubclass(TwilioOutputTransport, BaseOutputTransport)


async def test_a_message_already_in_aiohttps_reader_is_seen_waiting():
    """aiohttp's WebSocketResponse keeps received messages in `_reader._buffer` until read."""
    seen: dict = {}
    done = asyncio.Event()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive()
        # The second message was sent with the first: wait (on the loop, not a clock) until
        # aiohttp has read it off the socket.
        while not ws_has_waiting_message(ws):
            await asyncio.sleep(0)
        seen["waiting"] = True
        second = await ws.receive()
        seen["texts"] = [first.data, second.data]
        seen["after"] = ws_has_waiting_message(ws)
        done.set()
        await ws.close()
        return ws

    async with ws_server(handler) as url, aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            await ws.send_str("one")
            await ws.send_str("two")
            await asyncio.wait_for(done.wait(), 5)
    assert seen == {"waiting": True, "texts": ["one", "two"], "after": False}


def test_without_aiohttps_internals_nothing_is_said_to_be_waiting():
    assert ws_has_waiting_message(object()) is False

"""One aiohttp server for all provider fakes, and the ``ProviderFakes`` handle.

Every fake owns its routes (they don't collide: ``/v1/listen``, ``/v2/listen``,
``/openai/v1/...``, ``/tts/websocket``, ``/2010-04-01/...``), so a single port
serves them all and the four base URLs differ only in scheme and path::

    async with ProviderFakes() as fakes:
        fakes.deepgram.set_script(["I'd like a table for two."])
        os.environ.update(fakes.env())
        ...

``create_app`` builds the same application for ``pytest-aiohttp``'s
``aiohttp_client`` or for embedding in another server.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from aiohttp import web

from .cartesia import CartesiaFake
from .deepgram import DeepgramFake
from .deepgram_flux import DeepgramFluxFake
from .groq import GroqFake
from .twilio_rest import TwilioRestFake

__all__ = ["ProviderFakes", "create_app"]


class _Fake(Protocol):
    def add_routes(self, app: web.Application) -> None: ...

    async def shutdown(self) -> None: ...


def create_app(*fakes: _Fake) -> web.Application:
    """An application serving the routes of ``fakes``."""
    app = web.Application()
    for fake in fakes:
        fake.add_routes(app)

    async def close_fakes(app: web.Application) -> None:
        # Close live sockets and release hanging handlers first, so shutdown
        # doesn't wait out aiohttp's grace period on them.
        await asyncio.gather(*(fake.shutdown() for fake in fakes))

    app.on_shutdown.append(close_fakes)
    return app


class ProviderFakes:
    """All provider fakes on one local port (``port=0``: any free port).

    Attributes:
        deepgram: :class:`DeepgramFake` (``/v1/listen``)
        flux: :class:`DeepgramFluxFake` (``/v2/listen``)
        groq: :class:`GroqFake` (``/openai/v1``)
        cartesia: :class:`CartesiaFake` (``/tts/websocket``)
        twilio: :class:`TwilioRestFake` (``/2010-04-01``)
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self.host = host
        self.port = port
        self.deepgram = DeepgramFake()
        self.flux = DeepgramFluxFake()
        self.groq = GroqFake()
        self.cartesia = CartesiaFake()
        self.twilio = TwilioRestFake()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> ProviderFakes:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    async def start(self) -> None:
        app = create_app(self.deepgram, self.flux, self.groq, self.cartesia, self.twilio)
        # Access logs would bury test output; a short grace period because the
        # fakes close their own sockets on shutdown.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The base-URL settings that point Switchboard at these fakes."""
        return {
            "DEEPGRAM_BASE_URL": self.http_url,
            "GROQ_BASE_URL": f"{self.http_url}/openai/v1",
            "CARTESIA_BASE_URL": self.ws_url,
            "TWILIO_API_BASE_URL": self.http_url,
        }

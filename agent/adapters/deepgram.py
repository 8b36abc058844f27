"""Deepgram speech-to-text, entered where pipecat and the Deepgram SDK have no public door.

Two patches of the Deepgram SDK, applied once per process by `patch_sdk()`:
- `deepgram.base_client._make_default_async_client`: every SDK client builds its own httpx
  client, and with it a TLS context (~20 ms of blocking CPU per call) that live
  transcription over the WebSocket never uses; patched to return one client per process.
- `deepgram.listen.v1.client.websockets_client_connect`: the live socket (/v1/listen) is
  opened without permessage-deflate. A server that accepts it makes the client deflate
  every 20 ms audio message (~5% of the server's CPU per call) for a few percent of noise-
  like PCM; not offering it is always safe.

Two pipecat services, module-level classes:
- `UncompressedFluxSTTService`: Flux (/v2/listen) through pipecat's own
  `_websocket_connect(uri, **kwargs)`, given `compression=None` for the same reason.
- `ResilientDeepgramSTTService`: a socket drop loses no words. pipecat's service reconnects
  after at least 4 s and drops the caller's audio meanwhile. Here audio is kept from the end
  of the last final result (`start + duration` on that connection's clock) up to now,
  bounded at REPLAY_LIMIT_S (older audio is dropped and counted, `replay_dropped_bytes`);
  after a reconnect it is sent again first, then live audio. Reconnects wait
  RECONNECT_DELAYS_S; a connection up STABLE_S resets the count. After those attempts (or
  at once on a 4xx: a bad key does not get better) it gives up: pipecat's error and a fatal
  `TurnFailedFrame(stage="stt")` upstream, so the call controller says the graph's cached
  `trouble_goodbye` and hangs up. It replaces pipecat's `_connection_handler` whole, and
  uses `_on_message`, `_on_error`, `_connection`, `_connection_settled`, `_client`,
  `_build_connect_kwargs` and `_keepalive_handler` (tests/adapters/test_deepgram.py).
"""

from __future__ import annotations

import asyncio
import time

from deepgram import base_client
from deepgram.core import ApiError
from deepgram.core.events import EventType
from deepgram.listen.v1 import client as listen_v1_client
from deepgram.listen.v1.types import ListenV1Results
from loguru import logger
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.deepgram.flux.stt import DeepgramFluxSTTService
from pipecat.services.deepgram.stt import DeepgramSTTService

from processors.frames import TurnFailedFrame

REPLAY_LIMIT_S = 10.0
RECONNECT_DELAYS_S = (0.05, 0.25, 0.5)  # then give up
STABLE_S = 2.0
REPLAY_CHUNK_BYTES = 8000  # 0.5 s of 8 kHz PCM16 per message

_sdk_patched = False


def one_per_process(make_client):
    """The SDK's `_make_default_async_client(timeout, follow_redirects)`, made once."""
    made = []

    def shared_client(timeout, follow_redirects):
        if not made:
            made.append(make_client(timeout, follow_redirects))
        return made[0]

    return shared_client


def uncompressed(connect):
    """websockets' `connect`, offering no permessage-deflate unless the caller asks."""

    def connect_uncompressed(*args, **kwargs):
        kwargs.setdefault("compression", None)
        return connect(*args, **kwargs)

    return connect_uncompressed


def patch_sdk() -> None:
    """Apply both SDK patches (module docstring), once per process."""
    global _sdk_patched
    if _sdk_patched:
        return
    base_client._make_default_async_client = one_per_process(base_client._make_default_async_client)
    listen_v1_client.websockets_client_connect = uncompressed(
        listen_v1_client.websockets_client_connect
    )
    _sdk_patched = True


class UncompressedFluxSTTService(DeepgramFluxSTTService):
    """pipecat's Flux service, its socket opened without permessage-deflate."""

    async def _websocket_connect(self, uri: str, **kwargs):
        kwargs.setdefault("compression", None)
        return await super()._websocket_connect(uri, **kwargs)


class ResilientDeepgramSTTService(DeepgramSTTService):
    """pipecat's Deepgram service with quick reconnects and the unheard audio replayed."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._kept = bytearray()  # audio not yet covered by a final result
        self._kept_start = 0  # absolute byte offset of _kept[0]
        self._conn_base = 0  # absolute byte offset where this connection's clock began
        self.reconnects = 0
        self.replayed_bytes = 0
        self.replay_dropped_bytes = 0

    def _bytes_per_s(self) -> int:
        return (self.sample_rate or 8000) * 2

    async def run_stt(self, audio: bytes):
        self._kept += audio
        overflow = len(self._kept) - int(REPLAY_LIMIT_S * self._bytes_per_s())
        if overflow > 0:
            del self._kept[:overflow]
            self._kept_start += overflow
            self.replay_dropped_bytes += overflow
        if self._connection:
            try:
                await self._connection.send_media(audio)
            except Exception as exc:  # the connection handler reconnects and replays
                logger.warning(f"{self}: send failed, will replay after reconnecting: {exc}")
                self._connection = None
        yield None

    async def _on_message(self, message):
        await super()._on_message(message)
        if isinstance(message, ListenV1Results) and message.is_final:
            end = float(message.start or 0) + float(message.duration or 0)
            acked = self._conn_base + int(end * self._bytes_per_s()) // 2 * 2
            if acked > self._kept_start:
                done = min(acked - self._kept_start, len(self._kept))
                del self._kept[:done]
                self._kept_start += done

    async def _replay(self, connection) -> None:
        """Send everything kept, including what arrives meanwhile, then go live."""
        self._conn_base = self._kept_start
        sent = 0
        while sent < len(self._kept):
            chunk = bytes(self._kept[sent : sent + REPLAY_CHUNK_BYTES])
            await connection.send_media(chunk)
            sent += len(chunk)
        if self.reconnects:
            self.replayed_bytes += sent
            logger.info(f"{self}: reconnected; replayed {sent / self._bytes_per_s():.2f}s")
        self._connection = connection  # no await since the loop: nothing slips between

    async def _connection_handler(self):
        failures = 0
        try:
            while True:
                keepalive = None
                connected_at = None
                try:
                    kwargs = self._build_connect_kwargs()
                    async with self._client.listen.v1.connect(**kwargs) as connection:
                        connected_at = time.monotonic()
                        connection.on(EventType.MESSAGE, self._on_message)
                        connection.on(EventType.ERROR, self._on_error)
                        await self._replay(connection)
                        self._connection_settled.set()
                        keepalive = self.create_task(
                            self._keepalive_handler(), f"{self}::keepalive"
                        )
                        await connection.start_listening()
                except ApiError as exc:
                    status = exc.status_code or 0
                    if 400 <= status < 500:
                        await self._give_up(f"refused_{status}", exc)
                        return
                    logger.warning(f"{self}: connection refused ({status}); reconnecting")
                except Exception as exc:
                    logger.warning(f"{self}: connection lost ({exc!r}); reconnecting")
                finally:
                    self._connection = None
                    if keepalive:
                        await self.cancel_task(keepalive)
                uptime = time.monotonic() - connected_at if connected_at else 0.0
                failures = 0 if uptime >= STABLE_S else failures + 1
                if failures > len(RECONNECT_DELAYS_S):
                    await self._give_up("reconnect_failed")
                    return
                self.reconnects += 1
                await asyncio.sleep(RECONNECT_DELAYS_S[max(failures, 1) - 1])
        finally:
            self._connection_settled.set()

    async def _give_up(self, reason: str, exc: Exception | None = None) -> None:
        logger.error(f"{self}: giving up on Deepgram ({reason})")
        await self.push_error(
            error_msg=f"speech recognition lost: {reason}",
            exception=exc,
            force_treat_as_permanent=True,
        )
        await self.push_frame(
            TurnFailedFrame(stage="stt", reason=reason, fatal=True), FrameDirection.UPSTREAM
        )

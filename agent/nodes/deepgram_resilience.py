"""A Deepgram socket that drops loses no words: quick reconnects, then the unheard audio again.

pipecat's DeepgramSTTService reconnects after an error with a backoff of at least 4 s and
drops the caller's audio meanwhile; words said while it is down, and words Deepgram had
received but not yet finalized when the socket died, are never transcribed. For a caller
that is a question the agent never heard. `resilient_deepgram_class()` changes three things:

- **Replay.** Audio is kept from the end of the last final result Deepgram sent (its
  `start + duration` on that connection's clock) up to now, bounded at REPLAY_LIMIT_S.
  After a reconnect everything still kept is sent again first, then live audio; Deepgram
  transcribes it as if nothing had happened (a little later). Audio older than the limit is
  dropped and counted (`replay_dropped_bytes`).
- **Backoff** within a second: RECONNECT_DELAYS_S between attempts; a connection that stayed
  up STABLE_S resets the count.
- **Giving up** after those attempts (or at once on a 4xx: a bad key does not get better):
  pipecat's error, and a fatal `TurnFailedFrame(stage="stt")` to the call controller, which
  says the graph's cached `trouble_goodbye` and hangs up. A call that cannot hear the
  caller any more ends politely instead of listening to nothing.
"""

from __future__ import annotations

import asyncio
import functools
import time

from loguru import logger

from processors.frames import TurnFailedFrame

REPLAY_LIMIT_S = 10.0
RECONNECT_DELAYS_S = (0.05, 0.25, 0.5)  # then give up
STABLE_S = 2.0
REPLAY_CHUNK_BYTES = 8000  # 0.5 s of 8 kHz PCM16 per message


@functools.cache
def resilient_deepgram_class() -> type:
    from deepgram.core import ApiError
    from deepgram.core.events import EventType
    from deepgram.listen.v1.types import ListenV1Results
    from pipecat.processors.frame_processor import FrameDirection
    from pipecat.services.deepgram.stt import DeepgramSTTService

    class ResilientDeepgramSTTService(DeepgramSTTService):
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

    return ResilientDeepgramSTTService

"""One emulated call's Media Stream: Twilio's side of the WebSocket, once it is open.

``CallSession.run`` drives three tasks until the call ends:

- the media clock: every 20 ms on an absolute schedule (no drift; after a stall it catches up
  frame by frame) it sends one ``media`` message with the caller's audio or mu-law silence,
  and plays one frame of the agent's audio (``Playback.tick``), echoing reached marks;
- the receiver: the server's ``media``, ``mark`` and ``clear`` messages, and its close;
- the script: the caller's steps (see ``script``), which feed the media clock and watch
  playback. A call that may move to another stream (a transfer that comes back) runs its
  script outside, over all its streams (``emulator.CallLine``): then ``run(None)``.

Message formats follow Twilio's Media Streams docs: ``connected`` has no sequence number,
``start`` is sequence 1, every later message Twilio sends takes the next one; ``chunk`` counts
media messages from 1 and ``timestamp`` is milliseconds since the stream started, all strings.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections import deque
from typing import Any

import aiohttp

from agent.sim.mulaw import SILENCE
from agent.sim.playback import FRAME_BYTES, FRAME_S, RATE, Playback
from agent.sim.result import CallResult
from agent.sim.script import Script, run_script

_SILENCE_FRAME = bytes([SILENCE]) * FRAME_BYTES
_SILENCE_B64 = base64.b64encode(_SILENCE_FRAME).decode()


class _Utterance:
    """Caller audio queued for the media clock; ``done`` resolves when it has all been sent."""

    __slots__ = ("audio", "pos", "text", "done")

    def __init__(self, audio: bytes, text: str, done: asyncio.Future) -> None:
        self.audio, self.pos, self.text, self.done = memoryview(audio), 0, text, done


class CallSession:
    """Twilio's end of one Media Streams WebSocket (see the module docstring)."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        *,
        t0: float,
        account_sid: str,
        call_sid: str,
        stream_sid: str,
        stream_url: str,
        parameters: dict[str, str],
        underrun_gap_s: float = 0.4,
    ) -> None:
        self._ws = ws
        self._loop = asyncio.get_running_loop()
        self._next_tick_at: float | None = None  # the media clock's next frame deadline
        self._t0 = t0
        self._seq = 0
        self._mic: deque[_Utterance] = deque()
        self._changed = asyncio.Event()
        self._ended: asyncio.Future[str] = self._loop.create_future()
        self.playback = Playback(underrun_gap_s, on_change=self._notify)
        self.streams = 1  # (script.CallerLine) a call of one stream
        self.started = asyncio.Event()  # set once `connected` and `start` are sent
        self.result = CallResult(call_sid, stream_sid, account_sid, stream_url, parameters)
        self.timeline = self.result.timeline

    def now(self) -> float:
        return self._loop.time() - self._t0

    def hang_up(self, by: str) -> None:
        """End the stream from Twilio's side: ``stop``, then close (``by`` is recorded:
        "caller", "api", or "redirect" when the call got new TwiML)."""
        if not self._ended.done():
            self._ended.set_result(by)

    def _notify(self) -> None:
        # Pulse: wake everyone waiting on the current event, later waiters get a fresh one.
        self._changed.set()
        self._changed = asyncio.Event()

    # -- sending ------------------------------------------------------------------------------

    async def _send(self, text: str) -> None:
        if self._ws.closed:
            return
        try:
            await self._ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return  # the server went away; the receiver records the close
        self.result.sent_messages += 1

    def _next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)

    async def _send_event(self, event: str, body: dict[str, Any]) -> None:
        msg = {"event": event, "sequenceNumber": self._next_seq(), event: body}
        msg["streamSid"] = self.result.stream_sid
        await self._send(json.dumps(msg))

    async def _echo_mark(self, name: str, played: bool) -> None:
        self.timeline.append(("mark_echo", self.now(), name, played))
        self.result.marks_echoed.append(name)
        await self._send_event("mark", {"name": name})

    # -- the call -----------------------------------------------------------------------------

    async def run(self, script: Script | None, max_duration: float | None = None) -> CallResult:
        r = self.result
        await self._send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {"accountSid": r.account_sid, "streamSid": r.stream_sid, "callSid": r.call_sid}
        start |= {"tracks": ["inbound"], "customParameters": r.parameters}
        start["mediaFormat"] = {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1}
        await self._send_event("start", start)
        self.started.set()
        tasks = [
            asyncio.create_task(self._media_clock()),
            asyncio.create_task(self._run_script(script) if script is not None else _nothing()),
            asyncio.create_task(self._receive()),
        ]
        try:
            if max_duration is None:
                by = await asyncio.shield(self._ended)
            else:
                try:
                    by = await asyncio.wait_for(asyncio.shield(self._ended), max_duration)
                except TimeoutError:
                    self.timeline.append(("max_duration", self.now()))
                    by = "caller"
            r.closed_by = by
            tasks[0].cancel()
            tasks[1].cancel()
            if by != "server":
                stop = {"accountSid": r.account_sid, "callSid": r.call_sid}
                await self._send_event("stop", stop)
                await self._ws.close()
            await asyncio.wait([tasks[2]], timeout=6.0)  # the receiver sees the close
        finally:
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            if not self._ws.closed:
                await self._ws.close()
        for outcome in outcomes:  # a bad script step or an emulator bug must not pass silently
            if isinstance(outcome, Exception):
                raise outcome
        self.playback.finish()
        r.close_code = self._ws.close_code
        self.timeline.append(("closed", self.now(), r.closed_by, r.close_code))
        r.duration_s = self.now()
        pb = self.playback
        r.heard = bytes(pb.heard)
        r.agent_speech_segments = list(pb.segments)
        r.underruns = list(pb.underruns)
        r.max_buffer_s = pb.max_buffer_s
        # The playback model keeps its own event list; merge it in time order.
        r.timeline[:] = sorted(r.timeline + pb.timeline, key=lambda e: e[1])
        return r

    def _player_lag_s(self) -> float:
        """How far the media clock (and so the player) is behind real time: when this
        process stalls, Twilio would have played on meanwhile."""
        if self._next_tick_at is None:
            return 0.0
        return max(0.0, self._loop.time() - self._next_tick_at)

    async def _media_clock(self) -> None:
        stream_t0 = self._loop.time()
        sid = self.result.stream_sid
        frame = 0
        while not self._ws.closed:
            deadline = stream_t0 + frame * FRAME_S
            self._next_tick_at = deadline
            delay = deadline - self._loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # When late (a stall), no sleep: frames go out back to back until caught up.
            t = deadline - self._t0
            audio = self._next_caller_frame(t)
            payload = _SILENCE_B64 if audio is None else base64.b64encode(audio).decode()
            frame += 1
            # Hand-built JSON: the hottest path of a 100-call benchmark; all values are safe.
            await self._send(
                f'{{"event":"media","sequenceNumber":"{self._next_seq()}","media":'
                f'{{"track":"inbound","chunk":"{frame}","timestamp":"{(frame - 1) * 20}",'
                f'"payload":"{payload}"}},"streamSid":"{sid}"}}'
            )
            self.result.media_frames_sent += 1
            for name in self.playback.tick(t):
                await self._echo_mark(name, played=True)

    def _next_caller_frame(self, t: float) -> bytes | None:
        if not self._mic:
            return None
        u = self._mic[0]
        if u.pos == 0:
            self.timeline.append(("say_start", t, u.text))
            self.result.said.append((t, u.audio))
        chunk = u.audio[u.pos : u.pos + FRAME_BYTES]
        u.pos += len(chunk)
        if u.pos >= len(u.audio):
            self._mic.popleft()
            self.timeline.append(("say_end", t + len(chunk) / RATE, u.text))
            if not u.done.done():
                u.done.set_result(None)
        # Each utterance starts on a frame boundary, so its last frame is padded with silence.
        return bytes(chunk) + _SILENCE_FRAME[len(chunk) :]

    # -- receiving ----------------------------------------------------------------------------

    async def _run_script(self, script: Script) -> None:
        try:
            await run_script(script, self)
        finally:
            self.hang_up("caller")

    async def _receive(self) -> None:
        try:
            async for msg in self._ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await self._on_message(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    self._protocol_error(f"binary message of {len(msg.data)} bytes")
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    self._protocol_error(f"websocket error: {msg.data!r}")
                    break
        finally:
            self.hang_up("server")  # no-op when the caller hung up first

    def _protocol_error(self, what: str) -> None:
        t = self.now()
        self.result.protocol_errors.append((t, what))
        self.timeline.append(("protocol_error", t, what))

    async def _on_message(self, text: str) -> None:
        try:
            msg = json.loads(text)
            event = msg["event"]
        except (ValueError, KeyError, TypeError):
            self._protocol_error(f"not a Media Streams message: {text[:100]!r}")
            return
        if msg.get("streamSid") != self.result.stream_sid:
            self._protocol_error(f"{event}: streamSid {msg.get('streamSid')!r} is not this stream")
        t = self.now()
        try:
            if event == "media":
                audio = base64.b64decode(msg["media"]["payload"], validate=True)
                self.result.received_media_bytes += len(audio)
                self.timeline.append(("media_in", t, len(audio)))
                self.playback.enqueue(audio, behind_s=self._player_lag_s())
            elif event == "mark":
                name = str(msg["mark"]["name"])
                self.result.marks_received.append(name)
                self.timeline.append(("mark_in", t, name))
                if self.playback.add_mark(name):
                    await self._echo_mark(name, played=True)
            elif event == "clear":
                self.result.clears.append(t)
                for name in self.playback.clear(t):
                    await self._echo_mark(name, played=False)
            else:
                self._protocol_error(f"unknown event {event!r}")
        except (KeyError, TypeError, binascii.Error) as exc:
            self._protocol_error(f"malformed {event} message ({exc!r}): {text[:100]!r}")

    # -- what script steps use (see script.CallerLine) ----------------------------------------

    async def say(self, audio: bytes, text: str) -> None:
        """Queue caller audio on the media clock; return once it has all been sent."""
        if not audio:
            return
        done = self._loop.create_future()
        self._mic.append(_Utterance(audio, text, done))
        await done

    async def send_dtmf(self, digit: str) -> None:
        self.timeline.append(("dtmf", self.now(), digit))
        await self._send_event("dtmf", {"track": "inbound_track", "digit": digit})

    async def send_raw(self, data: str | bytes) -> None:
        if self._ws.closed:
            return
        send = self._ws.send_bytes if isinstance(data, bytes) else self._ws.send_str
        try:
            await send(data)
        except (ConnectionError, RuntimeError):
            return
        self.result.sent_messages += 1

    async def wait_change(self, timeout: float) -> None:
        """Sleep until playback starts, stops or is cleared, or ``timeout`` passes."""
        changed = self._changed
        try:
            async with asyncio.timeout(timeout):
                await changed.wait()
        except TimeoutError:
            pass

    def record_timeout(self, what: str) -> None:
        self.result.timeouts.append((self.now(), what))
        self.timeline.append(("timeout", self.now(), what))


async def _nothing() -> None:
    """The script slot of a stream whose script runs outside (over several streams)."""

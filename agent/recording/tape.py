"""CallTape: both sides of a call on one clock, taken off in blocks as a stereo stream.

Sample 0 is the moment the call's pipeline was built (right after Twilio's `start`); the
caller is the left channel, the agent the right, 8 kHz.

- The caller, as Twilio delivered it: each `media` payload (mu-law, kept as is until a
  block is taken) at its Twilio timestamp (milliseconds since the stream started, which is
  when `start` was sent), so network jitter and a busy event loop do not move it. A payload
  with no usable timestamp (missing, repeated, or ahead of the clock) goes right after the
  one before it, and never later than now.
- The agent, as Twilio played it: each 20 ms chunk the media link wrote, at the time it
  played. Twilio plays what it holds in order from the moment it arrives, so a chunk plays
  when it is written (`at`, or now if that has passed) or when the audio before it has
  played, whichever is later. A `clear` empties Twilio's buffer: the agent's channel is cut
  at that instant (`cut_agent`), and audio dropped before it was written never played
  (`unschedule_agent`).

`take(now)` returns the interleaved stereo PCM16 up to `now - HOLD_S` (the caller's audio
may still arrive a little late; the agent's future is not settled until it has played) and
forgets it; `take(now, final=True)` everything up to now, at the call's end. The agent's
audio goes through the mu-law round trip Twilio's G.711 applies, so the recording is what
the caller heard. Per chunk the tape only appends bytes to a buffer; decoding happens once
per block.
"""

from __future__ import annotations

import numpy as np

from agent.audio import DECODE_TABLE, ENCODE_TABLE, SAMPLE_RATE, SILENCE

HOLD_S = 0.5
_HOLD = int(HOLD_S * SAMPLE_RATE)
_AHEAD = int(0.5 * SAMPLE_RATE)  # caller audio stamped further ahead of the clock is misdated
_SAMPLES_PER_MS = SAMPLE_RATE // 1000


class CallTape:
    """The not yet written part of a call's two channels (see the module doc)."""

    def __init__(self, start: float):
        self.start = start  # the clock time of sample 0
        self._base = 0  # sample index of the buffers' first byte (everything before is taken)
        self._caller = bytearray()  # mu-law, from _base
        self._agent = bytearray()  # PCM16, from _base
        self._caller_end = 0  # sample after the last caller payload
        self._agent_end = 0  # sample where Twilio's buffer runs out (the next chunk's earliest)
        self._chunk_samples = 160
        self.late_caller_samples = 0  # caller audio that came after its time had been written
        self.cut_agent_samples = 0  # agent audio a `clear` (or a drop) kept from playing

    def _sample(self, t: float) -> int:
        return int(round((t - self.start) * SAMPLE_RATE))

    @property
    def taken_s(self) -> float:
        """Seconds of the call taken off so far."""
        return self._base / SAMPLE_RATE

    # -- the caller ------------------------------------------------------------------------

    def caller(self, ulaw: bytes, timestamp_ms: int, now: float) -> None:
        """A `media` payload from Twilio, stamped `timestamp_ms`, received at `now`."""
        pos = timestamp_ms * _SAMPLES_PER_MS
        now_sample = self._sample(now)
        if pos < self._caller_end or pos > now_sample + _AHEAD:
            pos = self._caller_end  # no usable timestamp: right after the payload before
            if pos > now_sample + _AHEAD:
                pos = now_sample  # never later than it arrived
        if pos < self._base:
            self.late_caller_samples += self._base - pos
            pos = self._base
        buf = self._caller
        offset = pos - self._base
        if offset == len(buf):  # the usual case: right after the last payload
            buf += ulaw
        else:
            if offset > len(buf):
                buf += bytes((SILENCE,)) * (offset - len(buf))
            buf[offset : offset + len(ulaw)] = ulaw
        self._caller_end = pos + len(ulaw)

    # -- the agent -------------------------------------------------------------------------

    def agent(self, pcm: bytes, at: float, now: float) -> None:
        """A chunk of PCM16 the media link writes at `at` (at once if `at` has passed)."""
        start = self._sample(at if at > now else now)
        if start < self._agent_end:
            start = self._agent_end  # behind what Twilio already holds
        if start < self._base:
            start = self._base
        buf = self._agent
        offset = 2 * (start - self._base)
        if offset > len(buf):
            buf += bytes(offset - len(buf))
        buf[offset : offset + len(pcm)] = pcm
        self._chunk_samples = len(pcm) // 2
        self._agent_end = start + self._chunk_samples

    def cut_agent(self, now: float) -> None:
        """Twilio got `clear`: nothing it held plays after `now`."""
        self._truncate_agent(max(self._sample(now), self._base))

    def unschedule_agent(self, chunks: int, now: float) -> None:
        """The last `chunks` chunks handed over were dropped before being written."""
        if chunks > 0:
            end = self._agent_end - chunks * self._chunk_samples
            self._truncate_agent(max(end, self._sample(now), self._base))

    def _truncate_agent(self, at_sample: int) -> None:
        keep = 2 * (at_sample - self._base)
        if len(self._agent) > keep:
            self.cut_agent_samples += (len(self._agent) - keep) // 2
            del self._agent[keep:]
        self._agent_end = at_sample  # Twilio's buffer is empty from here

    # -- blocks ----------------------------------------------------------------------------

    def take(self, now: float, final: bool = False) -> bytes:
        """Interleaved stereo PCM16 (caller left, agent right) up to `now` less HOLD_S (or
        `now`, when `final`), forgotten here once returned; b"" when there is none yet."""
        end = self._sample(now) - (0 if final else _HOLD)
        n = end - self._base
        if n <= 0:
            return b""
        caller = bytes(self._caller[:n])
        if len(caller) < n:
            caller += bytes((SILENCE,)) * (n - len(caller))
        agent = bytes(self._agent[: 2 * n])
        if len(agent) < 2 * n:
            agent += bytes(2 * n - len(agent))
        del self._caller[:n]
        del self._agent[: 2 * n]
        self._base = end
        if final:  # the call is over: what was scheduled after now never played
            self._truncate_agent(end)
        frames = np.empty(2 * n, dtype="<i2")
        frames[0::2] = DECODE_TABLE[np.frombuffer(caller, dtype=np.uint8)]
        frames[1::2] = DECODE_TABLE[ENCODE_TABLE[np.frombuffer(agent, dtype=np.uint16)]]
        return frames.tobytes()

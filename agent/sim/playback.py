"""Twilio's outbound playback buffer for one call: what the caller hears, and when.

Twilio plays whatever our server has sent, in order, at exactly 8000 mu-law bytes per second,
whether the server sent it in time or far ahead. This model reproduces that so tests can check
what a person on the phone would notice:

- ``media`` from the server is appended to the buffer (``enqueue``).
- ``mark`` is queued at the current end of the buffer and echoed once everything before it has
  *finished* playing; with nothing buffered or playing it is echoed at once (``add_mark``).
- ``clear`` drops the buffer and echoes every pending mark at once (``clear``).
- ``tick`` is called every 20 ms (on the emulator's absolute schedule) and plays one frame of
  up to 160 bytes; everything played is appended to ``heard``.

Positions are absolute byte counts since the call started (queued, started, played), so marks
never need re-indexing when the buffer is consumed or cleared.

A gap in the playback that ends within ``underrun_gap_s`` with no mark reached and no clear in
between is an *underrun*: a stutter inside an utterance, because the server sent audio late.
Longer gaps, or gaps after a mark (end of an utterance) or a clear, are ordinary pauses.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from agent.twilio.protocol import SAMPLE_RATE

RATE = SAMPLE_RATE
FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law, the unit Twilio plays (and streams) audio in
FRAME_S = FRAME_BYTES / RATE
_EPS = 1e-6  # float slack when comparing a frame's end with the next tick's start


class Playback:
    """The playback buffer and player of one emulated call (see the module docstring).

    All times are seconds relative to the call start, supplied by the caller of each method.
    ``on_change`` is called whenever playback starts, stops or is cleared, so script steps can
    wait on it instead of polling.
    """

    def __init__(
        self, underrun_gap_s: float = 0.4, on_change: Callable[[], None] | None = None
    ) -> None:
        self.underrun_gap_s = underrun_gap_s
        self._on_change = on_change or (lambda: None)
        self._buf = bytearray()  # deleting from the front of a bytearray is O(1) in CPython
        self._queued = 0  # absolute position of the end of the buffer
        self._started = 0  # bytes handed to the player (the frame in flight included)
        self._played = 0  # bytes whose playback has completed
        self._marks: deque[tuple[int, str]] = deque()  # (position, name), in position order
        self._playing = False
        self._run_start = 0.0
        self._frame_end = 0.0  # when the frame in flight finishes playing
        self._stop_t: float | None = None  # when the last run of audio ended
        self._boundary = False  # a mark was reached or a clear happened since that stop

        self.heard = bytearray()
        self.timeline: list[tuple] = []
        self.segments: list[tuple[float, float]] = []
        self.underruns: list[tuple[float, float]] = []
        self.max_buffer_s = 0.0
        self.first_audio_t: float | None = None

    # -- what the server sends -------------------------------------------------------------

    def enqueue(self, audio: bytes, behind_s: float = 0.0) -> None:
        """Append received ``media`` audio to the buffer. ``behind_s``: how far the player's
        ticks are behind real time (the emulator's own process stalled); the buffer depth
        counts the audio Twilio would have played meanwhile as played."""
        self._buf += audio
        self._queued += len(audio)
        depth = (self._queued - self._played) / RATE - behind_s
        if depth > self.max_buffer_s:
            self.max_buffer_s = depth

    def add_mark(self, name: str) -> bool:
        """Queue a mark at the end of the buffer; True means "echo it now": nothing is
        buffered or playing, so the audio before it has already been heard."""
        if self._played == self._queued:
            self._boundary = True
            return True
        self._marks.append((self._queued, name))
        return False

    def clear(self, t: float) -> list[str]:
        """Drop everything buffered; return the names of all pending marks (to echo now).

        The frame already in flight finishes playing: Twilio works in 20 ms packets too.
        """
        del self._buf[:]
        self._queued = self._started
        pending = [name for _, name in self._marks]
        self._marks.clear()
        self._boundary = True
        self.timeline.append(("clear", t))
        self._on_change()
        return pending

    # -- the player -------------------------------------------------------------------------

    def tick(self, t: float) -> list[str]:
        """Play the next 20 ms at time ``t``; return the marks whose audio has now played."""
        # The frame started at the previous tick has finished: marks up to here are reached.
        self._played = self._started
        reached: list[str] = []
        while self._marks and self._marks[0][0] <= self._played:
            reached.append(self._marks.popleft()[1])

        n = min(FRAME_BYTES, len(self._buf))
        if self._playing and (n == 0 or self._frame_end < t - _EPS):
            # Ran dry (or the last frame was short): the continuous run of audio ends here.
            self._stop(reached_mark=bool(reached))
        if n:
            self.heard += self._buf[:n]
            del self._buf[:n]
            self._started += n
            if not self._playing:
                self._start(t)
            self._frame_end = t + n / RATE
        return reached

    def _start(self, t: float) -> None:
        if self._stop_t is not None and not self._boundary:
            gap = t - self._stop_t
            if gap < self.underrun_gap_s:
                self.underruns.append((self._stop_t, round(gap * 1000, 1)))
        self._playing = True
        self._run_start = t
        if self.first_audio_t is None:
            self.first_audio_t = t
        self.timeline.append(("playback_start", t))
        self._on_change()

    def _stop(self, reached_mark: bool) -> None:
        end = self._frame_end
        self._playing = False
        self._stop_t = end
        # A mark reached right at the end of the run means the utterance ended on purpose.
        self._boundary = reached_mark
        self.segments.append((self._run_start, end))
        self.timeline.append(("playback_stop", end))
        self._on_change()

    def finish(self) -> None:
        """Close the last run when the call ends (the caller heard it up to the frame end)."""
        if self._playing:
            self._stop(reached_mark=False)

    # -- what script steps look at ----------------------------------------------------------

    @property
    def playing(self) -> bool:
        """True while agent audio is coming out of the caller's phone."""
        return self._playing

    @property
    def buffered_bytes(self) -> int:
        """Audio received but not yet played (the frame in flight excluded)."""
        return len(self._buf)

    @property
    def quiet(self) -> bool:
        """True when nothing plays and nothing waits to be played."""
        return not self._playing and not self._buf

    @property
    def last_audio_end(self) -> float | None:
        """When the last run of agent audio finished playing (None: nothing played yet)."""
        return self._stop_t

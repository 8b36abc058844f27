"""What an emulated call returns: what the caller heard, when, and how the call ended."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.sim.mulaw import SAMPLE_RATE, write_wav


@dataclass
class CallResult:
    """What happened on one emulated call. Times are seconds since ``place_call`` began.

    Timeline entries: ``("media_in", t, n_bytes)``, ``("mark_in", t, name)``,
    ``("mark_echo", t, name, played)`` (played is False when a clear flushed it),
    ``("clear", t)``, ``("say_start", t, text)``, ``("say_end", t, text)``,
    ``("playback_start", t)``, ``("playback_stop", t)``, ``("dtmf", t, digit)``,
    ``("timeout", t, step)``, ``("protocol_error", t, what)``, ``("max_duration", t)``,
    ``("closed", t, by, code)``; ``by`` is "redirect" when the call got new TwiML. ``underruns`` are ``(t, gap_ms)``: t is when the stutter began.
    """

    call_sid: str
    stream_sid: str
    account_sid: str
    stream_url: str
    parameters: dict[str, str]
    heard: bytes = b""
    received_media_bytes: int = 0
    timeline: list[tuple] = field(default_factory=list)
    marks_received: list[str] = field(default_factory=list)
    marks_echoed: list[str] = field(default_factory=list)
    clears: list[float] = field(default_factory=list)
    underruns: list[tuple[float, float]] = field(default_factory=list)
    agent_speech_segments: list[tuple[float, float]] = field(default_factory=list)
    closed_by: str = ""  # "caller" (script end, HangUp, max_duration), "server" or "api"
    close_code: int | None = None
    sent_messages: int = 0
    media_frames_sent: int = 0
    max_buffer_s: float = 0.0  # most agent audio queued ahead of playback at once
    duration_s: float = 0.0
    started_at: float = 0.0  # the event loop's time at t = 0 (to compare with other records)
    timeouts: list[tuple[float, str]] = field(default_factory=list)
    protocol_errors: list[tuple[float, str]] = field(default_factory=list)
    said: list[tuple[float, bytes]] = field(default_factory=list, repr=False)  # (t, mu-law)
    # A call updated with new TwiML (closed_by "redirect"): what Twilio did next, each
    # <Dial> as {"number", "action", "timeout", "caller_id", "status", "duration", "answer"}
    # (the action request's HTTP status and TwiML), and the media streams it opened after
    # this one (same CallSid, new StreamSid), each with its own CallResult.
    dials: list[dict] = field(default_factory=list)
    later_streams: list[CallResult] = field(default_factory=list)
    conferences: list[str] = field(default_factory=list)  # <Dial><Conference> names joined

    def heard_duration_s(self) -> float:
        """Seconds of agent audio the caller heard."""
        return len(self.heard) / SAMPLE_RATE

    def first_agent_audio_t(self) -> float | None:
        """When the caller first heard agent audio (None if never)."""
        return self.agent_speech_segments[0][0] if self.agent_speech_segments else None

    def events(self, *kinds: str) -> list[tuple]:
        """Timeline entries of the given kinds, in order."""
        return [e for e in self.timeline if e[0] in kinds]

    def write_heard_wav(self, path: str) -> None:
        """Save what the caller heard as a WAV file, to listen to (pauses left out)."""
        write_wav(path, self.heard)

    def heard_runs(self) -> list[tuple[float, float, bytes]]:
        """Each continuous run of agent audio the caller heard: (start, end, mu-law)."""
        return split_runs(self.heard, self.agent_speech_segments)


def split_runs(heard, segments) -> list[tuple[float, float, bytes]]:
    """`heard` (the runs back to back, in order, each exactly as long as it played) cut
    back into (start, end, mu-law) per run of `segments`."""
    runs, offset = [], 0
    for start, end in segments:
        n = round((end - start) * SAMPLE_RATE)
        runs.append((start, end, bytes(heard[offset : offset + n])))
        offset += n
    return runs

"""agent/recording/tape.py + link.py on virtual time: the caller as Twilio delivered it, the
agent as Twilio played it, silent from a `clear`.

The agent's side runs the real pacer on a real send clock into a small "Twilio" that plays
what it is written in real time (tests/processors/pacer_twilio.py), with the recording link
around it: the recorded right channel must be exactly what that Twilio played, when it
played it.
"""

from __future__ import annotations

import numpy as np
from pipecat.frames.frames import InterruptionFrame, TTSAudioRawFrame, TTSStartedFrame

from agent.audio import DECODE_TABLE, ENCODE_TABLE, SAMPLE_RATE, SILENCE
from agent.recording.link import CallerTap, RecordingLink
from agent.recording.tape import HOLD_S, CallTape
from processors.clock import FakeClock
from tests.processors.pacer_twilio import SECOND, PacerCall


def speech(seconds: float, seed: int) -> bytes:
    """Loud noise as PCM16 (no sample near zero: silence in the recording means none)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    samples = rng.integers(2000, 12000, n) * rng.choice([-1, 1], n)
    return samples.astype("<i2").tobytes()


def as_played(pcm: bytes) -> np.ndarray:
    """What a caller hears of PCM16 (the G.711 round trip)."""
    return DECODE_TABLE[ENCODE_TABLE[np.frombuffer(pcm, dtype=np.uint16)]]


def channels(block: bytes) -> tuple[np.ndarray, np.ndarray]:
    stereo = np.frombuffer(block, dtype="<i2")
    return stereo[0::2], stereo[1::2]


async def test_the_agent_channel_is_what_twilio_played_and_silent_from_the_clear():
    call = PacerCall(lead_ms=200)
    tape = CallTape(call.clock.now())
    call.pacer.link_to(RecordingLink(call.twilio, tape, call.clock))
    await call.start()
    answer = speech(3.0, seed=1)
    await call.play([TTSStartedFrame(), TTSAudioRawFrame(answer, 8000, 1), 1.2])
    await call.play([InterruptionFrame(), 0.5])
    await call.end()
    [clear_t] = call.twilio.clears
    recorded = b"".join([tape.take(call.clock.now() - 0.3), tape.take(call.clock.now(), True)])
    _, agent = channels(recorded)

    # Twilio plays each written chunk from when it arrives or when the one before it ends.
    expected = np.zeros(len(agent), dtype=np.int16)
    play_end = 0.0
    for t, pcm in call.twilio.audio():
        start = max(t, play_end)
        i = round((start - tape.start) * SAMPLE_RATE)
        expected[i : i + len(pcm) // 2] = as_played(pcm)
        play_end = start + len(pcm) / SECOND
    cut = round((clear_t - tape.start) * SAMPLE_RATE)
    expected[cut:] = 0  # Twilio dropped what it held
    assert np.array_equal(agent, expected)

    # The answer played from its start until the clear, then nothing: not the ~0.2 s of lead
    # Twilio held, nor what the pacer had handed to the send clock.
    first = int(np.flatnonzero(agent)[0])
    assert np.array_equal(agent[first:cut], as_played(answer)[: cut - first])
    assert not agent[cut:].any()
    assert 1.0 < (cut - first) / SAMPLE_RATE < 1.3
    assert tape.cut_agent_samples > 0.15 * SAMPLE_RATE


async def test_the_caller_channel_is_each_payload_at_its_twilio_timestamp():
    clock = FakeClock()
    tape = CallTape(clock.now())
    tap = CallerTap(tape, clock)
    said = bytes(range(0, 200, 1))[:160]
    # Twilio's 20 ms frames, stamped from the stream's start; the first arrives 35 ms late
    # and the next two in a burst after a 60 ms network stall: they go by their stamps.
    for ts, arrive in ((0, 0.035), (20, 0.04), (40, 0.10), (60, 0.10), (80, 0.11)):
        clock._now = tape.start + arrive
        tap.caller_audio(said if ts == 40 else bytes([SILENCE]) * 160, ts)
    clock._now = tape.start + 2.0
    caller, agent = channels(tape.take(clock.now(), final=True))
    assert len(caller) == 2 * SAMPLE_RATE
    expected = np.zeros(len(caller), dtype=np.int16)
    expected[320:480] = DECODE_TABLE[np.frombuffer(said, dtype=np.uint8)]
    assert np.array_equal(caller, expected)
    assert not agent.any()


def test_caller_audio_without_usable_timestamps_follows_on_and_late_audio_is_counted():
    tape = CallTape(100.0)
    a, b, c = bytes([0x10]) * 160, bytes([0x20]) * 160, bytes([0x30]) * 160
    tape.caller(a, 0, now=100.0)
    tape.caller(b, 0, now=100.02)  # no timestamp (0 again): right after the one before
    tape.caller(c, 999_000, now=100.04)  # stamped far in the future: placed when it came
    block = tape.take(101.0, final=True)
    caller, _ = channels(block)
    decoded = DECODE_TABLE[np.frombuffer(a + b, dtype=np.uint8)]
    assert np.array_equal(caller[:320], decoded)
    assert np.array_equal(caller[320:480], DECODE_TABLE[np.frombuffer(c, dtype=np.uint8)])
    # After a block is taken, audio stamped before its end goes where the file has got to.
    tape2 = CallTape(0.0)
    assert len(channels(tape2.take(1.0))[0]) == (1.0 - HOLD_S) * SAMPLE_RATE
    tape2.caller(a, 100, now=1.0)  # 100 ms: long written (as silence)
    assert tape2.late_caller_samples == 0.4 * SAMPLE_RATE
    caller2, _ = channels(tape2.take(1.0, final=True))
    assert np.array_equal(caller2[:160], DECODE_TABLE[np.frombuffer(a, dtype=np.uint8)])


def test_take_holds_back_the_unsettled_half_second_and_final_takes_the_rest():
    tape = CallTape(10.0)
    assert tape.take(10.4) == b""
    assert len(tape.take(11.0)) == 4 * int((1.0 - HOLD_S) * SAMPLE_RATE)
    # agent audio scheduled after the call's end never played
    tape.agent(speech(1.0, seed=2), at=11.2, now=11.0)
    block = tape.take(11.5, final=True)
    _, agent = channels(block)
    assert len(agent) == 1.0 * SAMPLE_RATE and tape.taken_s == 1.5
    assert not agent[: int(0.7 * SAMPLE_RATE)].any()  # 0.5..1.2 s: nothing played yet
    assert agent[-int(0.3 * SAMPLE_RATE) :].all()  # 1.2..1.5 s played
    assert tape.cut_agent_samples == int(0.7 * SAMPLE_RATE)


async def test_a_recording_fault_never_stops_the_calls_audio():
    class Twilio:
        chunks = 0

        def send_audio(self, pcm, at, due, on_lateness) -> bool:
            Twilio.chunks += 1
            return True

        def send_mark(self, name: str) -> bool:
            return True

        def drop_scheduled(self) -> int:
            return 2

        async def clear(self) -> bool:
            return True

        def subscribe(self, subscriber) -> None:
            pass

    class BrokenTape(CallTape):
        def agent(self, pcm, at, now):
            raise RuntimeError("a bug in the recording")

    link = RecordingLink(Twilio(), BrokenTape(0.0), FakeClock())
    for _ in range(3):
        assert link.send_audio(bytes(320), 1.0, 1.0, None) is True
    assert link.drop_scheduled() == 2 and await link.clear() is True
    assert Twilio.chunks == 3

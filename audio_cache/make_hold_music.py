"""Regenerate audio_cache/hold_music.ulaw: the hold music of warm transfers.

A gentle synthesized melody, made once and kept in the cache like the phrases: a slow
arpeggio (I-vi-IV-V in C major, two beats a chord, 84 beats a minute) of soft bell-like
notes (a sine and its octave, quick attack, exponential decay) over a quiet sustained
chord, 8 kHz mono G.711 mu-law, peak -12 dBFS (music under speech level). The clip is a
whole number of bars and every note and pad chord fades to silence within its bar, so the
loop point is silent and the pacer's seamless loop (processors/hold_music.py) has no
click. Deterministic: a re-run writes the same bytes.

    python audio_cache/make_hold_music.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a plain script from anywhere

from agent.audio import SAMPLE_RATE, float_to_ulaw  # noqa: E402

OUT = HERE / "hold_music.ulaw"
BEAT_S = 60 / 84
# (root MIDI note, chord tones as semitones above it), two beats each
CHORDS = [(60, (0, 4, 7, 12)), (57, (0, 3, 7, 12)), (53, (0, 4, 7, 12)), (55, (0, 4, 7, 10))]
PEAK = 10 ** (-12 / 20)


def hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def bell(freq: float, length_s: float) -> np.ndarray:
    t = np.arange(int(length_s * SAMPLE_RATE)) / SAMPLE_RATE
    env = np.minimum(t / 0.01, 1.0) * np.exp(-t * 3.2)
    env *= np.clip((length_s - t) / 0.05, 0.0, 1.0)  # silent at its end
    return env * (np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t))


def pad(freqs: list[float], length_s: float) -> np.ndarray:
    t = np.arange(int(length_s * SAMPLE_RATE)) / SAMPLE_RATE
    env = np.sin(np.pi * t / length_s) ** 2  # swells and fades within the chord
    return env * sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)


def melody() -> np.ndarray:
    note_s = BEAT_S / 2  # eighth notes: four a chord's two beats
    chord_s = 2 * BEAT_S
    out = np.zeros(int(len(CHORDS) * 2 * chord_s * SAMPLE_RATE) + SAMPLE_RATE)
    at = 0.0
    for _ in range(2):  # the progression twice: about 11.4 s
        for root, tones in CHORDS:
            start = int(at * SAMPLE_RATE)
            chord = pad([hz(root - 12 + s) for s in tones[:3]], chord_s)
            out[start : start + chord.size] += 0.35 * chord
            for i, semis in enumerate(tones):
                note = bell(hz(root + semis), min(2 * note_s, chord_s - i * note_s))
                begin = start + int(i * note_s * SAMPLE_RATE)
                out[begin : begin + note.size] += 0.5 * note
            at += chord_s
    out = out[: int(at * SAMPLE_RATE)]
    return out * (PEAK / np.max(np.abs(out)))


def main() -> None:
    samples = melody()
    OUT.write_bytes(float_to_ulaw(samples))
    print(f"{OUT.relative_to(HERE.parent)}  {samples.size / SAMPLE_RATE:.2f} s")


if __name__ == "__main__":
    main()

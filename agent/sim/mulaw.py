"""G.711 mu-law for the simulation kit: the codec lives in ``agent.audio``; this re-exports it.

Kept so simulation code, fixtures and tests written against ``agent.sim.mulaw`` keep working.
Plus an answering machine's beep (agent/sim/outbound.py, agent/scenarios/caller.py).
"""

from __future__ import annotations

import math

import numpy as np

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


BEEP_S = 0.5


def beep(seconds: float = BEEP_S, hz: float = 1000.0) -> bytes:
    """An answering machine's beep: a sine tone, mu-law 8 kHz."""
    n = np.arange(int(seconds * 8000))
    pcm = (12000 * np.sin(2 * math.pi * hz * n / 8000)).astype(np.int16)
    return pcm16_to_ulaw(pcm.tobytes())

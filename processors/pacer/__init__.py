"""The pacer: the agent's audio paced into Twilio in 20 ms chunks, with marks
(processors/pacer/processor.py says how; the other modules are its parts)."""

from processors.pacer.processor import AudioPacer
from processors.pacer.stats import BYTES_PER_S, CHUNK_BYTES, CHUNK_S, RATE, PacerStats

__all__ = ["AudioPacer", "BYTES_PER_S", "CHUNK_BYTES", "CHUNK_S", "RATE", "PacerStats"]

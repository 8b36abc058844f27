"""The pacer's units and what its parts pass between them: 20 ms chunks, marks, counters."""

from __future__ import annotations

from dataclasses import dataclass

from agent.twilio.protocol import SAMPLE_RATE

RATE = SAMPLE_RATE
CHUNK_BYTES = 320  # 20 ms of 8 kHz PCM16 = 160 mu-law bytes on the wire
CHUNK_S = 0.02
BYTES_PER_S = RATE * 2

# 20 ms of queued audio: (audio bytes, utterance uid, utterance byte position after it,
# clock time when queued). A plain tuple of plain values, not a class: the collector stops
# tracking such a tuple after its first collection, so a whole answer waiting in the queue
# (~400 chunks per speaking call) adds nothing to the middle and full collections that
# stall every call. (Instances of a class, named tuples included, stay tracked.)
Chunk = tuple[bytes, int, int, float]


@dataclass(slots=True)
class Mark:
    name: str
    uid: int
    pos: int  # utterance byte position the mark follows
    final: bool = False


@dataclass
class PacerStats:
    """Counters a benchmark or test can read."""

    chunks_sent: int = 0
    marks_sent: int = 0
    marks_played: int = 0
    marks_cleared: int = 0
    dry_restarts: int = 0  # the clock found Twilio's buffer empty inside an utterance
    max_queued_s: float = 0.0  # the most unsent audio the pacer held at once
    read_pauses: int = 0  # times the read-ahead filled and a bound TTS had to wait
    max_read_ahead_s: float = 0.0  # the most audio queued or reserved when a TTS reserved

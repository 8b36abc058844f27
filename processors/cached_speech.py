"""Frames that play a pre-rendered phrase, as if a TTS service had just spoken it.

    for frame in cached_speech_frames(pcm, text):
        await self.push_frame(frame)

`TTSStartedFrame` / `SpokenAudioFrame` (the whole phrase, 8 kHz PCM16) / `TTSStoppedFrame`,
pushed downstream from anywhere before the pacer. The pacer (processors/pacer/) opens an
utterance on the start, re-chunks the audio to 20 ms with marks, and on the stop pads the last
chunk and queues the utterance's final mark, so the bot-speaking state ends when Twilio has
played the phrase. The frames pass the LLM and TTS services untouched (the TTS service queues
them behind any speech it is producing, so they keep their order). `append_to_context=False`
keeps pipecat's assistant aggregator from opening a turn for them: whoever plays a phrase
writes it into the context itself (an `LLMMessagesAppendFrame`), once.

The audio carries the phrase's words at estimated offsets (`word_offsets`: the voiced span
shared out by characters; the cache holds no timestamps), so that when a barge-in cuts the
phrase the pacer reports the words played so far and the context keeps only those, as for
the TTS's speech.
"""

from __future__ import annotations

import numpy as np
from pipecat.frames.frames import Frame, TTSStartedFrame, TTSStoppedFrame

from agent.twilio.protocol import SAMPLE_RATE
from processors.frames import SpokenAudioFrame

VOICED = 500  # |sample| above this (of 32767) is speech, not the render's silent edges


def cached_speech_frames(pcm: bytes, text: str = "") -> list[Frame]:
    """The frames that play `pcm` (8 kHz mono PCM16) as one utterance of `text`."""
    audio = SpokenAudioFrame(
        audio=pcm, sample_rate=SAMPLE_RATE, num_channels=1, words=word_offsets(pcm, text)
    )
    return [TTSStartedFrame(append_to_context=False), audio, TTSStoppedFrame()]


def word_offsets(pcm: bytes, text: str) -> tuple[tuple[int, str], ...]:
    """Where each word of `text` likely starts in `pcm` (even byte offsets, in order)."""
    words = text.split()
    if not words:
        return ()
    samples = np.abs(np.frombuffer(pcm[: len(pcm) & ~1], dtype=np.int16).astype(np.int32))
    voiced = np.flatnonzero(samples > VOICED)
    first, last = (int(voiced[0]), int(voiced[-1]) + 1) if voiced.size else (0, samples.size)
    total = sum(len(w) + 1 for w in words)
    offsets, before = [], 0
    for word in words:
        offsets.append((2 * (first + (last - first) * before // total), word))
        before += len(word) + 1
    return tuple(offsets)

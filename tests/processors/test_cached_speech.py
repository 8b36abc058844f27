"""processors/cached_speech.py: a cached phrase plays as one utterance and carries its words,
placed over the voiced part of its audio."""

from __future__ import annotations

import numpy as np
from pipecat.frames.frames import TTSStartedFrame, TTSStoppedFrame

from processors.cached_speech import cached_speech_frames, word_offsets
from processors.frames import SpokenAudioFrame

RATE = 8000


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * 300 * t) * 8000).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def test_words_are_shared_out_over_the_voiced_span_by_length():
    # 0.5 s of silence, 2 s of "speech", 0.5 s of silence, as a rendered phrase has.
    pcm = np.concatenate([silence(0.5), tone(2.0), silence(0.5)]).tobytes()
    offsets = word_offsets(pcm, "Our plan costs twenty dollars")
    assert [w for _, w in offsets] == ["Our", "plan", "costs", "twenty", "dollars"]
    starts = [o for o, _ in offsets]
    assert starts == sorted(starts) and all(o % 2 == 0 for o in starts)
    assert abs(starts[0] - 0.5 * RATE * 2) <= 2  # the first word starts with the voice
    assert starts[-1] < 2.5 * RATE * 2  # the last one before the trailing silence
    # "twenty" starts after "Our plan costs " (15 of 30 characters): mid-voice, at ~1.5 s.
    assert abs(starts[3] / (RATE * 2) - 1.5) < 0.01


def test_silent_or_wordless_audio():
    assert word_offsets(silence(1.0).tobytes(), "") == ()
    offsets = word_offsets(silence(1.0).tobytes(), "hello there")
    assert [o for o, _ in offsets] == [0, 8000]  # no voice found: over the whole second


def test_frames_are_one_utterance_with_the_words_on_the_audio():
    pcm = tone(1.0).tobytes()
    started, audio, stopped = cached_speech_frames(pcm, "Hello there.")
    assert isinstance(started, TTSStartedFrame) and not started.append_to_context
    assert isinstance(stopped, TTSStoppedFrame)
    assert isinstance(audio, SpokenAudioFrame) and audio.audio == pcm
    assert [w for _, w in audio.words] == ["Hello", "there."]

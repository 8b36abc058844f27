"""Frames that play a pre-rendered phrase, as if a TTS service had just spoken it.

    for frame in cached_speech_frames(pcm):
        await self.push_frame(frame)

`TTSStartedFrame` / `OutputAudioRawFrame` (the whole phrase, 8 kHz PCM16) / `TTSStoppedFrame`,
pushed downstream from anywhere before the pacer. The pacer (processors/pacer.py) opens an
utterance on the start, re-chunks the audio to 20 ms with marks, and on the stop pads the last
chunk and queues the utterance's final mark, so the bot-speaking state ends when Twilio has
played the phrase. The frames pass the LLM and TTS services untouched (the TTS service queues
them behind any speech it is producing, so they keep their order). `append_to_context=False`
keeps pipecat's assistant aggregator from opening a turn for them: whoever plays a phrase
writes it into the context itself (an `LLMMessagesAppendFrame`), once.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame, OutputAudioRawFrame, TTSStartedFrame, TTSStoppedFrame

SAMPLE_RATE = 8000


def cached_speech_frames(pcm: bytes) -> list[Frame]:
    """The frames that play `pcm` (8 kHz mono PCM16) as one utterance."""
    return [
        TTSStartedFrame(append_to_context=False),
        OutputAudioRawFrame(audio=pcm, sample_rate=SAMPLE_RATE, num_channels=1),
        TTSStoppedFrame(),
    ]

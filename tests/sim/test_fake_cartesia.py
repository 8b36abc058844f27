"""The Cartesia fake, driven by pipecat's CartesiaTTSService and a plain websockets client,
plus the synthetic voice it speaks with."""

import asyncio
import audioop
import base64
import json

import numpy as np
import pytest
import websockets
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    ErrorFrame,
    InterruptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSTextFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.tests.utils import SleepFrame, run_test
from websockets.exceptions import InvalidStatus

from agent.sim.fakes import ProviderFakes
from agent.sim.fakes.synth import decode, encode, lin2ulaw, rms, synth_speech, ulaw2lin

RATE = 8000
SPOKEN = "Hello there. How can I help?"
PARAMS = PipelineParams(audio_out_sample_rate=RATE)


@pytest.fixture
async def fakes():
    async with ProviderFakes() as fakes:
        yield fakes


def tts(fakes: ProviderFakes, **kwargs) -> CartesiaTTSService:
    return CartesiaTTSService(
        api_key="sk-cartesia",
        url=fakes.env()["CARTESIA_BASE_URL"] + "/tts/websocket",
        sample_rate=RATE,
        settings=CartesiaTTSService.Settings(voice="voice-1"),
        **kwargs,
    )


def request(context_id: str, transcript: str, *, cont: bool = False, **fmt) -> str:
    output_format = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": RATE, **fmt}
    return json.dumps(
        {
            "context_id": context_id,
            "model_id": "sonic-3",
            "transcript": transcript,
            "voice": {"mode": "id", "id": "voice-1"},
            "output_format": output_format,
            "continue": cont,
        }
    )


async def connect(fakes: ProviderFakes, **headers):
    url = fakes.env()["CARTESIA_BASE_URL"] + "/tts/websocket"
    headers = {"X-API-Key": "k", "Cartesia-Version": "2026-03-01", **headers}
    return await websockets.connect(url, additional_headers=headers)


async def test_pipecat_tts_audio_is_what_the_fake_sent(fakes):
    down, _ = await run_test(
        tts(fakes),
        frames_to_send=[TTSSpeakFrame(SPOKEN), SleepFrame(0.2)],
        pipeline_params=PARAMS,
    )

    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    [(context_id, sent)] = fakes.cartesia.audio_by_context.items()
    assert b"".join(f.audio for f in audio) == sent and len(sent) > RATE  # > 0.5 s of speech
    assert {f.context_id for f in audio} == {context_id}
    ctx = fakes.cartesia.contexts[context_id]
    assert (
        ctx.done and fakes.cartesia.transcripts_by_context()[context_id].split() == SPOKEN.split()
    )
    first, *_, last = [r for r in fakes.cartesia.requests if r["context_id"] == context_id]
    assert first["output_format"] == {
        "container": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": RATE,
    }
    assert first["voice"] == {"mode": "id", "id": "voice-1"} and first["continue"] is True
    assert last["transcript"] == "" and last["continue"] is False  # pipecat's flush
    # Word timestamps came back as text frames.
    words = " ".join(f.text for f in down if isinstance(f, TTSTextFrame))
    assert words.split() == SPOKEN.split()
    assert fakes.cartesia.handshakes[0] == {"version": "2026-03-01", "api_key": "sk-cartesia"}


async def test_pipecat_interruption_cancels_the_context(fakes):
    fakes.cartesia.pacing = 2.0  # twice real time, so the interruption lands mid-sentence
    text = "This sentence is long enough to be interrupted halfway through."

    await run_test(
        tts(fakes),
        frames_to_send=[TTSSpeakFrame(text), SleepFrame(0.3), InterruptionFrame(), SleepFrame(0.1)],
        pipeline_params=PARAMS,
    )

    [context_id] = fakes.cartesia.cancelled
    assert {"context_id": context_id, "cancel": True} in fakes.cartesia.requests
    assert 0 < len(fakes.cartesia.audio_by_context[context_id]) < len(text) * 0.07 * RATE * 2


async def test_error_message_reaches_pipecat(fakes):
    fakes.cartesia.error_next = 1
    # After an error pipecat keeps the context open until stop_frame_timeout_s
    # (3 s by default) passes without audio; keep the test short.
    down, up = await run_test(
        tts(fakes, stop_frame_timeout_s=0.3),
        frames_to_send=[TTSSpeakFrame("Hi."), SleepFrame(0.1)],
        pipeline_params=PARAMS,
    )

    assert not [f for f in down if isinstance(f, TTSAudioRawFrame)]
    errors = [f.error for f in up if isinstance(f, ErrorFrame)]
    assert any("'type': 'error'" in e and "'status_code': 500" in e for e in errors)


async def test_mulaw_output_and_protocol_messages(fakes):
    async with await connect(fakes) as ws:
        await ws.send(request("c1", "Thanks for calling.", encoding="pcm_mulaw"))
        messages = []
        while not messages or messages[-1]["type"] != "done":
            messages.append(json.loads(await ws.recv()))

    chunks = [m for m in messages if m["type"] == "chunk"]
    assert all(m["status_code"] == 206 and m["done"] is False for m in chunks)
    assert messages[-1] == {"type": "done", "done": True, "status_code": 206, "context_id": "c1"}
    audio = b"".join(base64.b64decode(m["data"]) for m in chunks)
    assert audio == encode(synth_speech("Thanks for calling.", RATE), "pcm_mulaw")
    assert len(chunks[0]["data"]) == len(base64.b64encode(bytes(160)))  # 20 ms at 8 kHz


async def test_cancel_stops_a_context(fakes):
    fakes.cartesia.pacing = 4.0  # four times real time: long enough to cancel mid-way
    async with await connect(fakes) as ws:
        await ws.send(request("long", "This is a long sentence that takes a while to say."))
        await ws.recv()
        await ws.send(json.dumps({"context_id": "long", "cancel": True}))
        await ws.send(request("next", "Okay."))
        types = []
        while "done" not in types:
            message = json.loads(await ws.recv())
            types.append(message["type"])
            assert message["type"] != "done" or message["context_id"] == "next"

    full = len(
        encode(
            synth_speech("This is a long sentence that takes a while to say.", RATE), "pcm_s16le"
        )
    )
    assert fakes.cartesia.cancelled == ["long"]
    assert 0 < len(fakes.cartesia.audio_by_context["long"]) < full
    assert not fakes.cartesia.contexts["long"].done and fakes.cartesia.contexts["next"].done


async def test_drop_after_chunks_and_refused_key(fakes):
    fakes.cartesia.drop_after_chunks = 3
    async with await connect(fakes) as ws:
        await ws.send(request("c", "Hello there."))
        with pytest.raises(websockets.ConnectionClosedError):
            while True:
                await asyncio.wait_for(ws.recv(), 2.0)
    assert fakes.cartesia.contexts["c"].chunks_sent == 3

    fakes.cartesia.expected_key = "right"
    with pytest.raises(InvalidStatus) as refused:
        await connect(fakes, **{"X-API-Key": "wrong"})
    assert refused.value.response.status_code == 401


def test_synth_is_deterministic_speech_to_silero():
    a = synth_speech("Good morning! How can I help?", RATE)
    assert np.array_equal(a, synth_speech("Good morning! How can I help?", RATE))
    assert not np.array_equal(a, synth_speech("Good evening! How can I help?", RATE))
    assert len(a) == round(len("Good morning! How can I help?") * 0.07 * RATE)
    # One stretch of speech for an energy detector: no 60 ms run of quiet windows.
    quiet = [rms(w) < 300 for w in a[: len(a) // 160 * 160].reshape(-1, 160)[1:-1]]
    assert not any(all(quiet[i : i + 3]) for i in range(len(quiet) - 2))
    # And speech for Silero, which our pipeline's VAD runs on.
    vad = SileroVADAnalyzer(sample_rate=RATE)
    vad.set_sample_rate(RATE)
    n = vad.num_frames_required()
    scores = [vad.voice_confidence(a[i : i + n].tobytes()) for i in range(0, len(a) - n, n)]
    assert np.mean(scores) > 0.8


def test_mulaw_matches_audioop():
    samples = np.arange(-32768, 32768, dtype=np.int16)
    assert lin2ulaw(samples).tobytes() == audioop.lin2ulaw(samples.tobytes(), 2)
    codes = bytes(range(256))
    assert ulaw2lin(codes).tobytes() == audioop.ulaw2lin(codes, 2)
    assert np.array_equal(decode(encode(samples, "pcm_s16le"), "linear16"), samples)

"""The Deepgram fakes, driven by the real clients: pipecat's DeepgramSTTService and
DeepgramFluxSTTService, and deepgram-sdk's listen.v1 socket."""

import asyncio

import numpy as np
import pytest
from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment
from deepgram.core import ApiError
from pipecat.frames.frames import (
    ErrorFrame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.services.deepgram.flux.stt import DeepgramFluxSTTService
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.tests.utils import SleepFrame, run_test

from agent.sim.fakes import ProviderFakes
from agent.sim.fakes.synth import encode, silence, synth_speech

RATE = 8000
PARAMS = PipelineParams(audio_in_sample_rate=RATE)


@pytest.fixture
async def fakes():
    async with ProviderFakes() as fakes:
        yield fakes


def speech(text: str, lead_s: float = 0.2, tail_s: float = 0.6) -> np.ndarray:
    return np.concatenate([silence(lead_s, RATE), synth_speech(text, RATE), silence(tail_s, RATE)])


def audio_frames(samples: np.ndarray) -> list[InputAudioRawFrame]:
    data = samples.tobytes()
    return [InputAudioRawFrame(data[i : i + 320], RATE, 1) for i in range(0, len(data), 320)]


def stt(fakes: ProviderFakes, **kwargs) -> DeepgramSTTService:
    base = fakes.env()["DEEPGRAM_BASE_URL"]
    return DeepgramSTTService(api_key="dg-key", base_url=base, sample_rate=RATE, **kwargs)


def texts(frames, kind) -> list[str]:
    return [f.text for f in frames if type(f) is kind]


async def test_pipecat_stt_transcribes_scripted_line(fakes):
    fakes.deepgram.set_script(["I'd like a table for two.", "At seven."])
    frames = audio_frames(np.concatenate([speech("a table for two"), speech("at seven")]))

    down, _ = await run_test(
        stt(fakes), frames_to_send=[*frames, SleepFrame(0.2)], pipeline_params=PARAMS
    )

    assert texts(down, TranscriptionFrame) == ["I'd like a table for two.", "At seven."]
    interims = texts(down, InterimTranscriptionFrame)
    assert interims and all("I'd like a table for two.".startswith(t) for t in interims[:2])
    conn = fakes.deepgram.connections[0]
    assert conn.query["encoding"] == "linear16" and conn.query["sample_rate"] == "8000"
    assert conn.query["interim_results"] == "true" and conn.api_key == "dg-key"
    assert conn.bytes_received == sum(len(f.audio) for f in frames)
    final = conn.messages("Results")[-1]
    assert final["speech_final"] and final["metadata"]["request_id"] == conn.request_id
    assert [w["punctuated_word"] for w in final["channel"]["alternatives"][0]["words"]] == [
        "At",
        "seven.",
    ]
    # pipecat closes with CloseStream; Deepgram answers with Metadata.
    assert conn.received[-1] == {"type": "CloseStream"} and conn.sent[-1]["type"] == "Metadata"


async def test_tagged_scripts_keep_concurrent_calls_apart(fakes):
    fakes.deepgram.set_script(["default line"])
    fakes.deepgram.set_script(["caller one speaking"], tag="CA111")
    fakes.deepgram.set_script(["caller two speaking"], tag="CA222")
    frames = audio_frames(speech("hello"))

    results = await asyncio.gather(
        *(
            run_test(
                stt(fakes, tag=tag),
                frames_to_send=[*frames, SleepFrame(0.2)],
                pipeline_params=PARAMS,
            )
            for tag in ("CA111", "CA222", None)
        )
    )

    assert [texts(down, TranscriptionFrame) for down, _ in results] == [
        ["caller one speaking"],
        ["caller two speaking"],
        ["default line"],
    ]


async def test_finalize_flushes_and_script_falls_back(fakes):
    fakes.deepgram.final_latency_s = 0.05
    fakes.deepgram.set_script([])  # nothing scripted: the fallback transcript
    no_tail = audio_frames(speech("are you open", tail_s=0.0))

    down, _ = await run_test(
        stt(fakes),
        frames_to_send=[*no_tail, VADUserStoppedSpeakingFrame(), SleepFrame(0.25)],
        pipeline_params=PARAMS,
    )

    [final] = [f for f in down if type(f) is TranscriptionFrame]
    assert final.text == "hello" and final.result.from_finalize
    assert {"type": "Finalize"} in fakes.deepgram.connections[0].received


async def test_vad_events_and_utterance_end(fakes):
    fakes.deepgram.set_script(["yes please"])
    client = AsyncDeepgramClient(api_key="k", environment=_environment(fakes))
    samples = speech("yes please", tail_s=1.2)
    messages = []
    async with client.listen.v1.connect(
        model="nova-3",
        encoding="mulaw",
        sample_rate="8000",
        interim_results="true",
        vad_events="true",
        utterance_end_ms="1000",
        endpointing="200",
    ) as socket:
        await socket.send_keep_alive()
        await socket._websocket.send("not json")  # ignored, like any unknown message
        await socket.send_media(encode(samples, "mulaw"))
        await socket.send_close_stream()
        async for message in socket:
            messages.append(message)

    kinds = [m.type for m in messages]
    assert kinds[0] == "SpeechStarted" and kinds[-2:] == ["UtteranceEnd", "Metadata"]
    finals = [m for m in messages if m.type == "Results" and m.is_final]
    assert [f.channel.alternatives[0].transcript for f in finals] == ["yes please"]
    assert finals[0].speech_final and 0.15 < finals[0].start < 0.25
    assert messages[-2].last_word_end == pytest.approx(finals[0].start + finals[0].duration)
    received = fakes.deepgram.connections[0].received
    assert [m["type"] for m in received] == ["KeepAlive", None, "CloseStream"]


async def test_refused_handshakes(fakes):
    fakes.deepgram.refuse_connections = 1  # 503: the SDK reports it as an ApiError
    client = AsyncDeepgramClient(api_key="k", environment=_environment(fakes))
    with pytest.raises(ApiError) as refused:
        async with client.listen.v1.connect(model="nova-3"):
            pass
    assert refused.value.status_code == 503 and fakes.deepgram.refused == 1

    fakes.deepgram.expected_key = "right-key"  # pipecat gives up at once on a 401
    _, up = await run_test(stt(fakes), frames_to_send=[SleepFrame(0.1)], pipeline_params=PARAMS)
    errors = [f for f in up if isinstance(f, ErrorFrame)]
    assert errors and "401" in errors[0].error and fakes.deepgram.connection_count == 0


async def test_drop_after_closes_the_socket(fakes):
    fakes.deepgram.drop_after_s = 0.1
    client = AsyncDeepgramClient(api_key="k", environment=_environment(fakes))
    async with client.listen.v1.connect(model="nova-3") as socket:
        with pytest.raises(Exception):  # noqa: B017 - the websockets error type varies
            await asyncio.wait_for(socket.recv(), 2.0)
    assert fakes.deepgram.connections[0].closed_by == "drop"


async def test_flux_turns_with_eager_end_of_turn(fakes):
    fakes.flux.set_script(["Book a table for two."])
    url = fakes.env()["DEEPGRAM_BASE_URL"].replace("http", "ws", 1) + "/v2/listen"
    service = DeepgramFluxSTTService(
        api_key="dg-key", url=url, sample_rate=RATE, enable_eager_end_of_turn=True
    )
    frames = audio_frames(speech("book a table for two"))

    down, _ = await run_test(
        service, frames_to_send=[*frames, SleepFrame(0.2)], pipeline_params=PARAMS
    )

    assert texts(down, TranscriptionFrame) == ["Book a table for two."]
    assert texts(down, InterimTranscriptionFrame)[0] == "Book"
    conn = fakes.flux.connections[0]
    assert conn.query["model"] == "flux-general-en" and conn.query["sample_rate"] == "8000"
    events = conn.events()
    assert events[0] == "StartOfTurn" and events[-2:] == ["EagerEndOfTurn", "EndOfTurn"]
    assert conn.sent[0]["type"] == "Connected"
    assert [m["sequence_id"] for m in conn.sent] == list(range(len(conn.sent)))


async def test_flux_refuses_a_non_flux_model(fakes):
    url = fakes.env()["DEEPGRAM_BASE_URL"].replace("http", "ws", 1) + "/v2/listen"
    service = DeepgramFluxSTTService(
        api_key="k",
        url=url,
        sample_rate=RATE,
        settings=DeepgramFluxSTTService.Settings(model="nova-3"),
    )
    _, up = await run_test(service, frames_to_send=[SleepFrame(0.1)], pipeline_params=PARAMS)
    errors = [f.error for f in up if isinstance(f, ErrorFrame)]
    assert any("HTTP 400" in e and "Invalid model" in e for e in errors)


def _environment(fakes: ProviderFakes) -> DeepgramClientEnvironment:
    http = fakes.env()["DEEPGRAM_BASE_URL"]
    ws = http.replace("http", "ws", 1)
    return DeepgramClientEnvironment(base=http, production=ws, agent=ws, agent_rest=http)

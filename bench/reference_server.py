"""A pipecat-only Twilio bot: the reference the pacing benchmark compares our server with.

Built the way pipecat's own Twilio chatbot example builds one (pipecat-examples,
twilio-chatbot/inbound): FastAPI + uvicorn, `FastAPIWebsocketTransport` with
`TwilioFrameSerializer`, Silero VAD in the user aggregator, `DeepgramSTTService`,
`GroqLLMService`, `CartesiaTTSService` and an `LLMContextAggregatorPair`, 8 kHz in and out.
Nothing of ours is imported, so what the caller hears is pipecat's pacing: its WebSocket
output transport writes 40 ms chunks every 20 ms (2x real time) and sends no marks.

Deliberate differences from the example, so the comparison is about pacing only:

- the call opens with the same fixed greeting as our `receptionist` graph (a `TTSSpeakFrame`),
  not an LLM-generated introduction;
- the same turn strategy as our graph: VAD (confidence 0.7, start 0.2 s, stop 0.2 s) and
  transcription start a turn, `SpeechTimeoutUserTurnStopStrategy(0.4 s)` ends it (pipecat's
  default stop strategy would load the smart-turn ONNX model per call);
- the same Deepgram options and system prompt as our graph; no RTVI (a phone has no RTVI
  client) and no REST hang-up (the caller always hangs up first in the benchmark);
- every provider is reached through the same `*_BASE_URL` variables our server reads.

Routes: `GET|POST /twiml` (TwiML `<Connect><Stream url="wss://PUBLIC_HOST/ws">`), `GET /health`,
`GET /metrics` (only the loop-lag histogram), `WS /ws`. With `SWITCHBOARD_LOOP_LAG_PROBE=1` it
runs the same event-loop lag probe as our server (`agent.app.loop_lag`, the one import of ours: it
touches no call, only samples how late the loop wakes up), so the benchmark reads both
servers' loop lag the same way. Run: `python -m bench.reference_server --port 8081` with DEEPGRAM_BASE_URL,
GROQ_BASE_URL, CARTESIA_BASE_URL, PUBLIC_HOST and the three API keys in the environment
(`python -m agent.sim.fakes` prints the base URLs of local fakes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse, Response
from loguru import logger

ROOT = Path(__file__).resolve().parents[1]
GREETING = "Thanks for calling Acme. How can I help?"  # graphs/receptionist.yaml call.greeting
PROMPT_FILE = ROOT / "graphs" / "prompts" / "receptionist.md"
SAMPLE_RATE = 8000

active_calls = 0


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise SystemExit(f"reference_server: {name} is not set")
    return value


async def _read_start(websocket: WebSocket) -> tuple[str, str]:
    """Twilio sends `connected`, then `start`: return (streamSid, callSid)."""
    for _ in range(5):
        message = json.loads(await websocket.receive_text())
        if message.get("event") == "start":
            start = message["start"]
            return start["streamSid"], start["callSid"]
    raise ValueError("no `start` message among the first five")


def build_pipeline_worker(websocket: WebSocket, stream_sid: str, call_sid: str):
    """One call's pipeline worker over the accepted Twilio socket."""
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADParams
    from pipecat.frames.frames import TTSSpeakFrame
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import (
        LLMContextAggregatorPair,
        LLMUserAggregatorParams,
    )
    from pipecat.serializers.twilio import TwilioFrameSerializer
    from pipecat.services.cartesia.tts import CartesiaTTSService
    from pipecat.services.deepgram.stt import DeepgramSTTService
    from pipecat.services.groq.llm import GroqLLMService
    from pipecat.transports.websocket.fastapi import (
        FastAPIWebsocketParams,
        FastAPIWebsocketTransport,
    )
    from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
    from pipecat.turns.user_turn_strategies import (
        UserTurnStrategies,
        default_user_turn_start_strategies,
    )

    serializer = TwilioFrameSerializer(
        stream_sid=stream_sid,
        call_sid=call_sid,
        params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
    )
    transport = FastAPIWebsocketTransport(
        websocket=websocket,
        params=FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=SAMPLE_RATE,
            audio_out_sample_rate=SAMPLE_RATE,
            add_wav_header=False,
            serializer=serializer,
        ),
    )
    stt = DeepgramSTTService(
        api_key=_env("DEEPGRAM_API_KEY"),
        base_url=_env("DEEPGRAM_BASE_URL", "https://api.deepgram.com"),
        sample_rate=SAMPLE_RATE,
        settings=DeepgramSTTService.Settings(
            model="nova-3",
            language="en-US",
            interim_results=True,
            smart_format=True,
            punctuate=True,
            endpointing=300,
            utterance_end_ms=1000,
            extra={"vad_events": False},
        ),
    )
    llm = GroqLLMService(
        api_key=_env("GROQ_API_KEY"),
        base_url=_env("GROQ_BASE_URL", "https://api.groq.com/openai/v1"),
        settings=GroqLLMService.Settings(
            model=_env("GROQ_MODEL", "llama-3.3-70b-versatile"),
            system_instruction=PROMPT_FILE.read_text(encoding="utf-8").strip(),
            temperature=0.6,
            max_completion_tokens=200,
        ),
    )
    tts = CartesiaTTSService(
        api_key=_env("CARTESIA_API_KEY"),
        url=f"{_env('CARTESIA_BASE_URL', 'wss://api.cartesia.ai')}/tts/websocket",
        settings=CartesiaTTSService.Settings(
            voice=_env("CARTESIA_VOICE_ID", "f786b574-daa5-4673-aa0c-cbe3e8534c02"),
            model="sonic-3.6",
            language="en",
        ),
    )
    context = LLMContext()
    user_aggregator, assistant_aggregator = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            vad_analyzer=SileroVADAnalyzer(
                sample_rate=SAMPLE_RATE,
                params=VADParams(confidence=0.7, start_secs=0.2, stop_secs=0.2, min_volume=0.6),
            ),
            user_turn_strategies=UserTurnStrategies(
                start=default_user_turn_start_strategies(),
                stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0.4)],
            ),
        ),
    )
    pipeline = Pipeline(
        [
            transport.input(),
            stt,
            user_aggregator,
            llm,
            tts,
            transport.output(),
            assistant_aggregator,
        ]
    )
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(
            audio_in_sample_rate=SAMPLE_RATE,
            audio_out_sample_rate=SAMPLE_RATE,
            enable_metrics=True,
        ),
        enable_rtvi=False,
        name=f"ref-{call_sid[-8:]}",
    )

    @transport.event_handler("on_client_connected")
    async def on_client_connected(_transport, _client):
        await worker.queue_frames([TTSSpeakFrame(GREETING)])

    @transport.event_handler("on_client_disconnected")
    async def on_client_disconnected(_transport, _client):
        await worker.cancel()

    return worker


def create_app(public_host: str) -> FastAPI:
    # FastAPI reads the handlers' annotations by name from this module's globals (they are
    # strings here), hence the module-level fastapi imports.
    import contextlib

    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        from agent.app.loop_lag import start_if_enabled

        probe = start_if_enabled(registry)
        yield
        if probe is not None:
            await probe.stop()

    app = FastAPI(lifespan=lifespan)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(content=generate_latest(registry), media_type="text/plain")

    @app.api_route("/twiml", methods=["GET", "POST"])
    async def twiml() -> Response:
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
            f'<Stream url="wss://{public_host}/ws"/></Connect></Response>'
        )
        return Response(content=xml, media_type="application/xml")

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "active_calls": active_calls})

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        global active_calls
        from pipecat.workers.runner import WorkerRunner

        await websocket.accept()
        active_calls += 1
        try:
            stream_sid, call_sid = await _read_start(websocket)
            worker = build_pipeline_worker(websocket, stream_sid, call_sid)
            runner = WorkerRunner(handle_sigint=False, handle_sigterm=False)
            await runner.add_workers(worker)
            await runner.run()
        except Exception as exc:  # one bad call must not take the server down
            logger.error(f"call failed: {exc.__class__.__name__}: {exc}")
        finally:
            active_calls -= 1

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reference_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8081")))
    parser.add_argument(
        "--public-host", default=os.environ.get("PUBLIC_HOST") or None, help="host in TwiML"
    )
    args = parser.parse_args(argv)
    level = os.environ.get("LOG_LEVEL", "WARNING").upper()
    logger.remove()  # pipecat logs at DEBUG by default
    logger.add(sys.stderr, level=level)

    import uvicorn

    public_host = args.public_host or f"{args.host}:{args.port}"
    uvicorn.run(
        create_app(public_host),
        host=args.host,
        port=args.port,
        log_level=level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()

"""Builder of `cartesia_tts`: pipecat's Cartesia WebSocket TTS at CARTESIA_BASE_URL.

Raw pcm_s16le at the node's sample_rate (8000 by default, so the transport only has to
mu-law encode it). The voice defaults to CARTESIA_VOICE_ID.

When Cartesia fails an utterance (an `error` message, or the socket dropping while a context
is speaking), pipecat reports the error and the rest of that utterance is silence. Our
subclass (agent/adapters/cartesia.py) also sends a `TurnFailedFrame(stage="tts")` upstream, so the call controller plays
the graph's cached `fallback` phrase (no TTS needed); pipecat's own reconnect then serves the
next utterance. At most one report per REPORT_GAP_S: one failure often yields two errors
(the error, then "context completed with no audio").

Bursts: Cartesia streams 20 ms chunks faster than real time, so a sentence's audio arrives
in a burst. pipecat hands every chunk on alone: into the context's queue, out through an
`asyncio.wait_for` (a task each), into the next processor's queue and task. A chunk whose
predecessor is still waiting in the queue joins it instead (`join_waiting_audio`, up to
JOINED_MAX_MS per frame): the same audio in the same order with a tenth of the hand-offs.
A chunk that finds the queue empty goes on alone as before, so nothing waits for this.

Queued items are taken at once (`take_waiting_item`): pipecat fetches each item of a
context's queue through `asyncio.wait_for`, a task and two loop iterations per item even when
it is already waiting. The words Cartesia times come as one item each, before the audio, so
under load an answer's first audio waited behind them: at 100 calls the first chunk took
0.55-0.7 s (p50) to leave this service. What is already queued now goes on in one pass;
only an empty queue is waited on pipecat's way.

Read-ahead (the node's "read_ahead.take" channel): the builder hands the pipeline assembly
`read_at_pace_of`, which it binds to the call's pacer (processors/media_link.py ReadAhead).
Before each audio chunk is handed on, the socket's reader waits while the pacer's read-ahead
is full (processors/pacer/read_ahead.py says why), then reserves the chunk's length there, so that the
audio still between this service and the pacer counts too. The reader also carries
Cartesia's other messages, which stay in order behind the audio. A chunk whose context was
cancelled (a barge-in) while it waited is dropped, as pipecat drops one that arrives after.

First clause (`first_clause`, on by default): the LLM's text reaches the service through
pipecat's `LLMTextProcessor` with our `FirstClauseAggregator` (processors/first_clause.py),
so each answer's first clause is sent as soon as it is complete and the rest by sentences,
all in the turn's one Cartesia context (continuations). pipecat 1.14's TTS services take no
aggregator of ours (Cartesia sets its own); `LLMTextProcessor(text_aggregator=...)` is the
public hook, and the service speaks the `AggregatedTextFrame`s it makes as they come. Text
that is not the LLM's (a `TTSSpeakFrame`) goes through as before.
"""

from __future__ import annotations

from pipecat.processors.aggregators.llm_text_processor import LLMTextProcessor
from pipecat.services.cartesia.tts import GenerationConfig

from agent.adapters.cartesia import ResilientCartesiaTTSService
from agent.graph.build import BuildContext, NodeBuild
from agent.nodes.params import CartesiaTTSParams
from processors.first_clause import FirstClauseAggregator


def build_tts(params: CartesiaTTSParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    config = ctx.config
    api_key = config.require("CARTESIA_API_KEY", f"the cartesia_tts node '{node_name}'")
    settings = ResilientCartesiaTTSService.Settings(
        voice=params.voice or config.cartesia_voice_id,
        model=params.model,
        language=params.language,
        generation_config=GenerationConfig(speed=params.speed) if params.speed else None,
    )
    service = ResilientCartesiaTTSService(
        api_key=api_key.reveal(),
        url=f"{config.cartesia_base_url}/tts/websocket",
        sample_rate=params.sample_rate,
        encoding="pcm_s16le",
        container="raw",
        settings=settings,
    )
    processors = [service]
    if params.first_clause:
        aggregator = FirstClauseAggregator(
            min_words=params.first_clause_min_words, language=params.language
        )
        # Direct mode (processors/passthrough.py): every frame of the call crosses it, and
        # its work is a few string checks; no queue and tasks of its own.
        clauses = LLMTextProcessor(
            text_aggregator=aggregator, name=f"{node_name}-first-clause", enable_direct_mode=True
        )
        processors.insert(0, clauses)
    return NodeBuild(processors=processors, take_read_ahead=service.read_at_pace_of)

"""The cartesia_tts node with first_clause, against the Cartesia fake: the answer's first
clause is sent (and its audio comes back) before the rest of the sentence is written, and
the rest follows as a continuation in the same Cartesia context."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipecat.frames.frames import (
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSAudioRawFrame,
    TTSTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import SleepFrame, run_test

from agent.config import Config
from agent.graph import BuildContext, CallInfo, build_graph, load_graph
from agent.graph.build import ProcessCache
from agent.sim.fakes import ProviderFakes
from agent.sim.fakes.groq import tokenize

ROOT = Path(__file__).resolve().parents[2]
CLAUSE = "We have an opening tomorrow, "
REST = "at nine thirty in the morning."
WRITING_S = 0.4  # the LLM is still writing the sentence's second part this long


@pytest.fixture
async def fakes():
    async with ProviderFakes() as fakes:
        yield fakes


def tts_node(fakes: ProviderFakes, **env) -> list:
    keys = {"CARTESIA_API_KEY": "ca", "DEEPGRAM_API_KEY": "dg", "GROQ_API_KEY": "gq"}
    env = {**keys, "CARTESIA_VOICE_ID": "voice-1", **fakes.env(), **env}
    cfg = Config.load(env=env, dotenv_path=None)
    graph = load_graph(ROOT / "graphs/receptionist.yaml", cfg, strict=True)
    built = build_graph(graph, BuildContext(cfg, graph, CallInfo("CA1", "MZ1"), ProcessCache()))
    return built.nodes["tts"].processors


def answer() -> list:
    return [
        LLMFullResponseStartFrame(),
        *(LLMTextFrame(t) for t in tokenize(CLAUSE)),
        LLMTextFrame("at"),  # the clause is cut at the first character after its space
        SleepFrame(WRITING_S),
        *(LLMTextFrame(t) for t in tokenize(" nine thirty in the morning.")),
        LLMFullResponseEndFrame(),
        SleepFrame(0.3),
    ]


async def test_the_first_clause_is_spoken_while_the_sentence_is_still_being_written(fakes):
    down, _ = await run_test(
        Pipeline(tts_node(fakes)),
        frames_to_send=answer(),
        pipeline_params=PipelineParams(audio_out_sample_rate=8000),
    )

    [(context_id, ctx)] = fakes.cartesia.contexts.items()
    assert ctx.transcripts == [CLAUSE, REST]  # one context: the rest is a continuation
    sent = [r for r in fakes.cartesia.requests if r.get("context_id") == context_id]
    assert [(r["transcript"], r["continue"]) for r in sent] == [
        (CLAUSE, True),
        (REST, True),
        ("", False),
    ]
    assert {r["model_id"] for r in sent} == {"sonic-3.6"}  # same fields on every input
    # The clause's audio came back before the LLM had written the rest.
    assert ctx.first_audio_at < ctx.transcript_times[1] - WRITING_S / 2
    # Word timestamps across both inputs: every word, once, in order.
    words = " ".join(f.text for f in down if isinstance(f, TTSTextFrame))
    assert words.split() == (CLAUSE + REST).split()
    audio = b"".join(f.audio for f in down if isinstance(f, TTSAudioRawFrame))
    assert audio == bytes(ctx.audio)


async def test_without_first_clause_the_sentence_is_sent_whole(fakes):
    await run_test(
        Pipeline(tts_node(fakes, TTS_FIRST_CLAUSE="false")),
        frames_to_send=answer(),
        pipeline_params=PipelineParams(audio_out_sample_rate=8000),
    )
    [ctx] = fakes.cartesia.contexts.values()
    assert ctx.transcripts == [(CLAUSE + REST)]
    assert ctx.first_audio_at > ctx.transcript_times[0] - 0.01

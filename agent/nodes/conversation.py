"""The conversation around any LLM-like node: context, turn-taking and history window.

Shared by `groq_llm` and `local_responder`, which differ only in what answers:

    [user aggregator, ContextWindow, (MessageTaker), <answerer>]   in the chain
    [assistant aggregator]                                          after transport output

With the graph's `messages:` section, the message-taking dialog
(processors/message_taking.py) stands right in front of the answerer: it answers the
caller's turns itself while it takes a message, and lets everything through otherwise.

The assistant aggregator sits after the output so it records what was actually played and
sees interruptions in order.

When the caller's turn ends (user turn strategies), chosen rather than pipecat's default:

- a service upstream decides turns ("turn" frames, i.e. Deepgram Flux): pipecat's
  ExternalUserTurnStrategies, which resolve the service's proposed turn starts/ends and
  interrupt the bot when a turn starts. That is exactly what Flux recommends through its
  STTMetadataFrame; we pass it up front because leaving the strategies unset would first
  build pipecat's default smart-turn analyzer (an ONNX model load) for every call.
  With a `ListeningTurn` that listens to the words (the groq_llm node's `listen_to_words`):
  ListeningFluxTurnStop (agent/adapters/flux_turns.py), which holds a turn the service ends on
  unfinished words up to the unfinished wait, so a caller's pause mid-sentence is one turn.
- otherwise: start with AcknowledgingTurnStart (processors/barge_in.py: as pipecat's default
  starts, on VAD or transcription, while the agent is silent; over the agent, only for words
  that are not an acknowledgement, the graph's `call.barge_in`) and stop with
  SpeechTimeoutUserTurnStopStrategy(user_speech_timeout), not the default smart-turn model,
  which costs CPU per turn and on synthetic or telephone speech often waits seconds before
  ending a turn. With Deepgram finalizing on VAD stop, a turn ends stop_secs (0.2) +
  user_speech_timeout (0.4) after the caller falls silent. Behind a segmented STT (Whisper,
  the `segment` kind): its subclass SegmentAwareTurnStop (agent/adapters/segment_turns.py), which stops
  waiting for words exactly when the last utterance has been transcribed.
  With a `ListeningTurn` (the groq_llm node's `listen_to_words` / `speculate`):
  ListeningTurnStop (agent/adapters/listening_turns.py), which picks the wait by the caller's words
  (processors/turn_end.py) and may start the LLM speculatively at the VAD's stop.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.adapters.eager_turns import CountedEagerTurnStop
from agent.adapters.flux_turns import ListeningFluxTurnStop
from agent.adapters.listening_turns import ListeningTurnStop
from agent.adapters.segment_turns import SegmentAwareTurnStop
from agent.graph.build import BuildContext
from agent.graph.callvars import render
from agent.graph.model import BargeInSettings
from agent.nodes.params import DeepgramFluxSTTParams
from processors.barge_in import DEFAULT_ACKNOWLEDGEMENTS, AcknowledgingTurnStart
from processors.context_window import ContextWindow
from processors.message_taking import MessageTaker
from processors.turn_end import SPECULATION_STATS_KEY, SpeculationStats, TurnEndTiming


@dataclass(frozen=True)
class ListeningTurn:
    """How the turn's end listens to the words (see ListeningTurnStop)."""

    timing: TurnEndTiming
    listen_to_words: bool = True
    speculate: bool = False


@dataclass
class Conversation:
    context: object  # pipecat LLMContext
    head: list  # before the answering service: user aggregator, history window
    tail: list  # after transport output: assistant aggregator


def conversation(
    ctx: BuildContext,
    node_name: str,
    *,
    user_speech_timeout_s: float,
    max_history_turns: int | None,
    tools=None,
    listening: ListeningTurn | None = None,
) -> Conversation:
    """A fresh per-call context with its aggregators, for the node `node_name`."""
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import (
        LLMContextAggregatorPair,
        LLMUserAggregatorParams,
    )
    from pipecat.utils.types import NOT_GIVEN

    # The prompt goes on the service (system_instruction), not into the context: pipecat
    # 1.9+ deprecates a leading system message in LLMContext.
    context = LLMContext(tools=tools if tools is not None else NOT_GIVEN)
    call = ctx.graph.call
    min_words = call.min_interruption_words or ctx.config.min_interruption_words or 1
    kinds = ctx.graph.kinds_before(node_name)
    strategies = turn_strategies(
        user_speech_timeout_s,
        "turn" in kinds,
        min_words,
        segmented_stt="segment" in kinds,
        barge_in=call.barge_in,
        listening=listening,
        stats=ctx.shared.get_or_create(SPECULATION_STATS_KEY, SpeculationStats),
        eager_stt=any(
            isinstance(node.params, DeepgramFluxSTTParams) and node.params.eager_end_of_turn
            for node in ctx.graph.chain_nodes()
        ),
    )
    pair = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(user_turn_strategies=strategies)
    )
    window = ContextWindow(max_turns=max_history_turns or ctx.config.max_history_turns)
    head = [pair.user(), window]
    if ctx.graph.messages is not None:
        head.append(
            MessageTaker(ctx.graph.messages, ctx.call.from_number, name=f"{node_name}-messages")
        )
    return Conversation(context=context, head=head, tail=[pair.assistant()])


def turn_strategies(
    user_speech_timeout_s: float,
    service_decides_turns: bool,
    min_words: int = 1,
    *,
    segmented_stt: bool = False,
    barge_in: BargeInSettings | None = None,
    listening: ListeningTurn | None = None,
    stats: SpeculationStats | None = None,
    eager_stt: bool = False,
):
    from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
    from pipecat.turns.user_turn_strategies import (
        ExternalUserTurnStrategies,
        UserTurnStrategies,
    )

    if service_decides_turns and listening is not None and listening.listen_to_words:
        # Flux's turn ends listen to the words: one on unfinished words is held (up to the
        # unfinished wait) for the caller to go on; with EagerEndOfTurn answered
        # speculatively (pipecat's eager stop, counted), never on unfinished words.
        return UserTurnStrategies(
            start=ExternalUserTurnStrategies(enable_interruptions=True).start,
            stop=[ListeningFluxTurnStop(unfinished_s=listening.timing.unfinished_s, stats=stats)],
        )
    if service_decides_turns and eager_stt:
        # Flux's EagerEndOfTurn answered speculatively: pipecat's eager stop strategy (same
        # words after normalisation, as ListeningTurnStop's rule), counted like ours.
        return UserTurnStrategies(
            start=ExternalUserTurnStrategies(enable_interruptions=True).start,
            stop=[CountedEagerTurnStop(stats=stats)],
        )
    if service_decides_turns:
        return ExternalUserTurnStrategies(enable_interruptions=True)
    # Barge-in (processors/barge_in.py): over the agent, an acknowledgement alone neither
    # stops it nor makes a turn; other words (at least min_words of them) interrupt it.
    barge_in = barge_in or BargeInSettings()
    start = [
        AcknowledgingTurnStart(
            acknowledgements=barge_in.acknowledgements or DEFAULT_ACKNOWLEDGEMENTS,
            min_words=min_words,
            max_acknowledgement_s=barge_in.max_acknowledgement_s,
            rule=barge_in.rule,
        )
    ]
    if segmented_stt:
        stop = SegmentAwareTurnStop(user_speech_timeout=user_speech_timeout_s)
    elif listening is not None and (listening.listen_to_words or listening.speculate):
        timing = listening.timing
        if not listening.listen_to_words:  # one wait whatever the words
            timing = TurnEndTiming(
                user_speech_timeout_s, user_speech_timeout_s, user_speech_timeout_s
            )
        stop = ListeningTurnStop(timing=timing, speculate=listening.speculate, stats=stats)
    else:
        stop = SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=user_speech_timeout_s)
    return UserTurnStrategies(start=start, stop=[stop])


def read_prompt(ctx: BuildContext, relative: str) -> str:
    """The prompt file's text, read once per process (validated at start), with this call's
    variables filled in (agent/graph/callvars.py)."""
    path = ctx.resolve_path(relative).resolve()
    text = ctx.shared.get_or_create(
        ("prompt", str(path)), lambda: path.read_text(encoding="utf-8").strip()
    )
    return render(text, ctx.call.vars)  # `${call.vars.NAME}`: this call's variables

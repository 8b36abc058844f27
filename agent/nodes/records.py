"""Builders of the `call_recorder` and `lead_extraction` taps (agent/records/recorder.py).

Both return call hooks (`NodeBuild.hooks`), not pipecat observers: they join the call once its
worker exists and learn about turns from a handful of frame types and processor events, so a
graph with these taps pays nothing per audio frame (see agent/records/turns.py).
"""

from __future__ import annotations

from agent.errors import ProviderError
from agent.graph.build import BuildContext, NodeBuild
from agent.nodes.groq import check_groq_models
from agent.nodes.params import CallRecorderParams, LeadExtractionParams
from agent.records.recorder import CallRecorder, ExtractionTap


def build_recorder(params: CallRecorderParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    return NodeBuild(processors=[], hooks=[CallRecorder(name=node_name)])


def build_extraction(params: LeadExtractionParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    model = params.model or ctx.config.extraction_model
    return NodeBuild(processors=[], hooks=[ExtractionTap(params, model, name=node_name)])


async def preflight(config, params_list: list[LeadExtractionParams]) -> None:
    """Server start: the extraction models exist at GROQ_BASE_URL (one request for all)."""
    try:
        await check_groq_models(config, [p.model or config.extraction_model for p in params_list])
    except ProviderError as exc:
        message = str(exc).removeprefix("groq: ").replace("set GROQ_MODEL", "set EXTRACTION_MODEL")
        raise ProviderError("groq", f"lead_extraction: {message}") from None

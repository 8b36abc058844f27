"""pipecat's pipeline/worker/runner API, imported in exactly one place.

pipecat renamed PipelineTask → PipelineWorker and PipelineRunner → WorkerRunner in 1.3; the
next rename should touch only this file. A server runs many calls in one process, so each
call's worker gets its own small WorkerRunner (pipecat's function calls need a worker
attached to a runner); the runner never installs signal handlers: the server owns signals.
"""

from __future__ import annotations

from pipecat.observers.base_observer import BaseObserver
from pipecat.pipeline.parallel_pipeline import ParallelPipeline
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner

from agent.twilio.protocol import SAMPLE_RATE

__all__ = [
    "BaseObserver",
    "ParallelPipeline",
    "Pipeline",
    "PipelineParams",
    "PipelineWorker",
    "make_worker",
    "run_worker",
]


def make_worker(
    processors: list, *, observers: list[BaseObserver] | None = None, name: str | None = None
) -> PipelineWorker:
    """A pipeline worker for one call: 8 kHz in and out, no idle auto-cancel.

    Idle handling belongs to the call (idle prompts, max duration), not to pipecat's generic
    idle timeout, which would cancel a call whose caller is merely thinking.

    Turn tracking is off: nothing reads pipecat's TurnTrackingObserver, and any observer
    makes pipecat hand every frame processed and every frame pushed, by every processor, to
    a queue and a task of its own (about 15% of the server's CPU per call, profiled). With no
    observers those hand-offs return at once; turn latency is measured at the pipeline's
    end instead (agent/app/pipeline.py).

    pipecat's own metrics are off: nothing here reads its `MetricsFrame`s (TTFB, processing
    time), and each one crossed every processor to the pipeline's end, ~9 a second per call
    (counted). Our numbers are on `/metrics` (agent/app/metrics.py).
    """
    return PipelineWorker(
        Pipeline(processors),
        params=PipelineParams(
            audio_in_sample_rate=SAMPLE_RATE,
            audio_out_sample_rate=SAMPLE_RATE,
            enable_metrics=False,
            send_initial_empty_metrics=False,
        ),
        observers=observers or [],
        idle_timeout_secs=None,
        cancel_on_idle_timeout=False,
        enable_rtvi=False,
        enable_turn_tracking=False,
        name=name,
    )


async def run_worker(worker: PipelineWorker) -> None:
    """Run a worker to completion in the current event loop."""
    runner = WorkerRunner(handle_sigint=False, handle_sigterm=False)
    await runner.add_workers(worker)
    await runner.run()

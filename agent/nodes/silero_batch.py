"""One batched Silero inference for the 32 ms windows of every call waiting at that moment.

Silero takes a batch: windows `(B, context + 256)` and recurrent states `(2, B, 128)`, one
row per call. Scoring a window alone costs mostly onnxruntime's fixed cost per run plus a
thread round trip on the event loop; in a batch, a fraction of that per window and one
round trip per batch (docs/decisions/silero-batching.md has the numbers).

`SileroBatcher.score(model, windows)` queues one call's windows (those of one audio frame,
in order) and returns a future of their scores. The first call queued while the batcher is
idle waits one loop iteration for others to join, then the whole queue runs as one job on
the shared inference thread; calls queued meanwhile form the next job as soon as it
returns. Within a job, step k runs every call's k-th window as one batch, so a call's
windows are scored in order (each needs the recurrent state the previous one left) and a
whole frame costs one round trip (one per window let a loaded call's audio fall behind
real time and never catch up). A call awaits its frame's scores before it queues the next
frame, so a model never appears twice in a job.

The per-call state lives on pipecat's `SileroOnnxModel` (read and written through
agent/adapters/silero.py), so pipecat's own `reset_states()` and reset policy keep working.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

import numpy as np

from agent.adapters.silero import model_state, set_model_state
from agent.twilio.protocol import SAMPLE_RATE

CONTEXT_SAMPLES = 32  # Silero prepends the previous window's last 32 samples at 8 kHz
WINDOW_SAMPLES = 256  # one 32 ms window at 8 kHz


class SileroBatcher:
    """Scores windows of many calls' Silero models in batched runs of one shared session."""

    def __init__(self, session, executor: Executor, sample_rate: int = SAMPLE_RATE):
        self._session = session
        self._executor = executor
        self._sr = np.array(sample_rate, dtype=np.int64)
        self._queue: list[tuple[object, list[bytes], asyncio.Future]] = []
        self._busy = False
        self.runs = 0  # jobs run on the inference thread (round trips)
        self.windows = 0  # windows scored

    def score(self, model, windows: list[bytes]) -> asyncio.Future:
        """The speech probabilities of `windows` (each 256 samples of 16-bit PCM, in order)
        for `model`'s call."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not windows:
            future.set_result([])
            return future
        self._queue.append((model, windows, future))
        if not self._busy:
            self._busy = True
            loop.call_soon(self._launch)  # other calls of this loop iteration join the batch
        return future

    def _launch(self) -> None:
        batch, self._queue = self._queue, []
        if not batch:
            self._busy = False
            return
        # Each call's context (the last samples it was scored on) and recurrent state.
        contexts = np.zeros((len(batch), CONTEXT_SAMPLES), dtype=np.float32)
        states = []
        for row, (model, _, _) in zip(contexts, batch, strict=True):
            state, context = model_state(model)
            states.append(state)
            if context.shape[1] == CONTEXT_SAMPLES:  # else fresh or reset: zeros
                row[:] = context[0]
        state = np.concatenate(states, axis=1)
        windows = [w for _, w, _ in batch]
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._executor, self._run, windows, contexts, state)
        done.add_done_callback(lambda f: self._finish(batch, f))

    def _run(self, windows: list[list[bytes]], contexts: np.ndarray, state: np.ndarray):
        """On the inference thread: step k scores every call's k-th window in one batch."""
        scores: list[list[float]] = [[] for _ in windows]
        for step in range(max(len(w) for w in windows)):
            rows = [i for i, w in enumerate(windows) if len(w) > step]
            pcm = b"".join(windows[i][step] for i in rows)
            x = np.empty((len(rows), CONTEXT_SAMPLES + WINDOW_SAMPLES), dtype=np.float32)
            x[:, :CONTEXT_SAMPLES] = contexts[rows]
            x[:, CONTEXT_SAMPLES:] = np.frombuffer(pcm, np.int16).reshape(len(rows), -1)
            x[:, CONTEXT_SAMPLES:] *= 1 / 32768.0
            out, new_state = self._session.run(
                None, {"input": x, "state": state[:, rows, :], "sr": self._sr}
            )
            state[:, rows, :] = new_state
            contexts[rows] = x[:, -CONTEXT_SAMPLES:]
            for k, i in enumerate(rows):
                scores[i].append(float(out[k, 0]))
        return scores, contexts, state

    def _finish(self, batch, done: asyncio.Future) -> None:
        self.runs += 1
        try:
            scores, contexts, state = done.result()
        except Exception as exc:  # the call's VAD handles it; other batches go on
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        else:
            for i, (model, windows, future) in enumerate(batch):
                self.windows += len(windows)
                set_model_state(
                    model,
                    np.ascontiguousarray(state[:, i : i + 1, :]),
                    contexts[i : i + 1].copy(),
                )
                if not future.done():  # a call that ended meanwhile cancelled its wait
                    future.set_result(scores[i])
        self._launch()

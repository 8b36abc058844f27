"""One batched Silero inference for the 32 ms windows of every call waiting at that moment.

Silero takes a batch: windows `(B, context + 256)` and recurrent states `(2, B, 128)`, one
row per call. Scoring windows one at a time costs 88 µs of CPU each, mostly onnxruntime's
fixed cost per run, plus a thread round trip on the event loop; in batches of 8 or more it
costs 33-38 µs a window and one round trip per batch (measured on these machines; see
bench/RESULTS.md). With 100 calls that is ~3,100 windows a second: 28% of a core one by
one, ~10% batched.

`SileroBatcher.score(model, window)` queues a window and returns a future. The first window
queued while the batcher is idle waits one loop iteration for others to join, then the whole
queue runs as one batch on the shared inference thread; windows queued meanwhile form the
next batch as soon as it returns. Alone, a call's window is scored as fast as before; under
load, batches grow by themselves. Each call awaits a window's score before it queues its
next window, so a model never appears twice in a batch and its windows stay in order.

The per-call state lives on pipecat's `SileroOnnxModel` (`_state`, `_context`), so pipecat's
own `reset_states()` and reset policy keep working.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

import numpy as np

CONTEXT_SAMPLES = 32  # Silero prepends the previous window's last 32 samples at 8 kHz
WINDOW_SAMPLES = 256  # one 32 ms window at 8 kHz


class SileroBatcher:
    """Scores windows of many calls' Silero models in batched runs of one shared session."""

    def __init__(self, session, executor: Executor, sample_rate: int = 8000):
        self._session = session
        self._executor = executor
        self._sr = np.array(sample_rate, dtype=np.int64)
        self._queue: list[tuple[object, bytes, asyncio.Future]] = []
        self._busy = False
        self.runs = 0  # batched inferences
        self.windows = 0  # windows scored

    def score(self, model, pcm: bytes) -> asyncio.Future:
        """The speech probability of one window (256 samples of 16-bit PCM) for `model`'s call."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((model, pcm, future))
        if not self._busy:
            self._busy = True
            loop.call_soon(self._launch)  # other calls of this loop iteration join the batch
        return future

    def _launch(self) -> None:
        batch, self._queue = self._queue, []
        if not batch:
            self._busy = False
            return
        # One row per call: its context (the last samples it was scored on), then its window.
        x = np.zeros((len(batch), CONTEXT_SAMPLES + WINDOW_SAMPLES), dtype=np.float32)
        for row, (model, pcm, _) in zip(x, batch, strict=True):
            if model._context.shape[1] == CONTEXT_SAMPLES:  # else fresh or reset: zeros
                row[:CONTEXT_SAMPLES] = model._context[0]
            row[CONTEXT_SAMPLES:] = np.frombuffer(pcm, np.int16)
        x[:, CONTEXT_SAMPLES:] *= 1 / 32768.0  # all windows to float at once
        state = np.concatenate([model._state for model, _, _ in batch], axis=1)
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._executor, self._run, x, state)
        done.add_done_callback(lambda f: self._finish(batch, x, f))

    def _run(self, x: np.ndarray, state: np.ndarray):
        return self._session.run(None, {"input": x, "state": state, "sr": self._sr})

    def _finish(self, batch, x: np.ndarray, done: asyncio.Future) -> None:
        self.runs += 1
        self.windows += len(batch)
        try:
            out, state = done.result()
        except Exception as exc:  # the call's VAD handles it; other batches go on
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        else:
            for i, (model, _, future) in enumerate(batch):
                model._state = np.ascontiguousarray(state[:, i : i + 1, :])
                model._context = x[i : i + 1, -CONTEXT_SAMPLES:].copy()
                if not future.done():  # a call that ended meanwhile cancelled its wait
                    future.set_result(float(out[i, 0]))
        self._launch()

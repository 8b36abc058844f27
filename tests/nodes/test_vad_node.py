"""agent/nodes/vad.py: one Silero session per process, independent state per call."""

from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from agent.graph.build import ProcessCache
from agent.nodes.vad import make_analyzer, shared_silero_session
from tests.conftest import caller_audio


def _pcm(name: str) -> bytes:
    from agent.sim.mulaw import ulaw_to_pcm16

    return ulaw_to_pcm16(caller_audio(name))


def test_session_is_loaded_once_per_process():
    shared = ProcessCache()
    assert shared_silero_session(shared) is shared_silero_session(shared)


async def test_shared_session_analyzers_detect_speech_with_their_own_state():
    session = shared_silero_session(ProcessCache())
    first = make_analyzer(session, VADParams())
    second = make_analyzer(session, VADParams())
    for analyzer in (first, second):
        analyzer.set_sample_rate(8000)  # what pipecat's VAD controller does at StartFrame
    speech = _pcm("what_are_your_opening_hours") + bytes(16000)
    silence = bytes(len(speech))
    # Interleave two "calls": one speaking, one silent. Each must see only its own audio.
    step = first.num_frames_required() * 2
    seen_first, seen_second = [], []
    for i in range(0, len(speech) - step + 1, step):
        seen_first.append(await first.analyze_audio(speech[i : i + step]))
        seen_second.append(await second.analyze_audio(silence[i : i + step]))
    assert VADState.SPEAKING in seen_first
    assert VADState.SPEAKING not in seen_second
    assert first._model._state is not second._model._state


def _call_audio(noise_db: float | None, seed: int = 1) -> bytes:
    """Three caller lines with 2 s of silence (or steady noise at noise_db dBFS) around each."""
    import numpy as np

    parts = [bytes(16000)]
    for name in ("what_are_your_opening_hours", "wait_stop", "who_are_you"):
        parts += [_pcm(name), bytes(32000)]
    pcm = np.frombuffer(b"".join(parts), np.int16).astype(np.float32)
    if noise_db is not None:
        pcm += np.random.default_rng(seed).normal(0, 32768 * 10 ** (noise_db / 20), len(pcm))
    return np.clip(pcm, -32768, 32767).astype(np.int16).tobytes()


async def _vad_events(analyzers, pcm: bytes) -> list[list[tuple[str, int]]]:
    """Feed every analyzer the same audio in 60 ms frames, as concurrent calls; each one's
    (SPEAKING/QUIET, frame index) transitions."""
    import asyncio

    for analyzer in analyzers:
        analyzer.set_sample_rate(8000)
    events: list[list[tuple[str, int]]] = [[] for _ in analyzers]
    last = [VADState.QUIET] * len(analyzers)
    step = 960
    for index, start in enumerate(range(0, len(pcm) - step + 1, step)):
        frame = pcm[start : start + step]
        states = await asyncio.gather(*(a.analyze_audio(frame) for a in analyzers))
        for k, state in enumerate(states):
            if state in (VADState.SPEAKING, VADState.QUIET) and state != last[k]:
                events[k].append((state.name, index))
                last[k] = state
    return events


async def test_batched_analyzers_decide_exactly_as_one_window_at_a_time():
    # Noise above the volume gate: every window is scored, so batching alone is compared.
    from agent.nodes.vad import shared_batcher

    shared = ProcessCache()
    session = shared_silero_session(shared)
    params = VADParams(stop_secs=0.2)
    pcm = _call_audio(noise_db=-45)
    [alone] = await _vad_events([make_analyzer(session, params)], pcm)
    batched = [make_analyzer(session, params, batcher=shared_batcher(shared)) for _ in range(6)]
    events = await _vad_events(batched, pcm)
    assert len(alone) == 6  # three lines, each a start and a stop
    assert all(e == alone for e in events)
    batcher = shared_batcher(shared)
    assert batcher.windows >= 6 * batcher.runs * 0.9  # six calls' windows ran together
    assert all(a.windows_skipped <= 5 for a in batched)  # only the first windows, ramping up


async def test_a_frames_windows_cost_one_round_trip_to_the_inference_thread():
    # A 60 ms frame holds one or two 32 ms windows; the second needs the state the first
    # leaves, yet both go to the thread in one job (two jobs: a call's audio fell behind).
    from agent.nodes.vad import shared_batcher

    shared = ProcessCache()
    analyzer = make_analyzer(
        shared_silero_session(shared), VADParams(), batcher=shared_batcher(shared)
    )
    pcm = _call_audio(noise_db=-45)[: 960 * 50]  # 50 frames of 60 ms, all above the gate
    await _vad_events([analyzer], pcm)
    batcher = shared_batcher(shared)
    windows = len(pcm) // 512
    assert batcher.windows + analyzer.windows_skipped == windows
    assert batcher.runs <= 50 < batcher.windows  # one job per frame, not one per window


async def test_quiet_windows_are_not_scored_and_decisions_hold():
    # Over silence and over -65 dB line noise (below min_volume), quiet windows are skipped;
    # every start is at the same frame as when every window is scored, stops within a frame.
    from agent.nodes.vad import shared_batcher

    shared = ProcessCache()
    session = shared_silero_session(shared)
    params = VADParams(stop_secs=0.2)
    for noise_db in (None, -65):
        pcm = _call_audio(noise_db)
        [alone] = await _vad_events([make_analyzer(session, params)], pcm)
        skipping = make_analyzer(session, params, batcher=shared_batcher(shared))
        [events] = await _vad_events([skipping], pcm)
        windows = len(pcm) // (2 * skipping.num_frames_required())
        assert skipping.windows_skipped > windows / 2  # most of a call is quiet
        assert [kind for kind, _ in events] == [kind for kind, _ in alone]
        for (kind, frame), (_, frame_alone) in zip(events, alone, strict=True):
            assert abs(frame - frame_alone) <= (0 if kind == "SPEAKING" else 1), (
                noise_db,
                events,
                alone,
            )


async def test_a_failing_inference_is_non_speech_not_a_crash():
    from concurrent.futures import ThreadPoolExecutor

    from agent.nodes.silero_batch import SileroBatcher

    class BrokenSession:
        def run(self, *args, **kwargs):
            raise RuntimeError("onnxruntime fell over")

    batcher = SileroBatcher(BrokenSession(), ThreadPoolExecutor(max_workers=1))
    analyzer = make_analyzer(shared_silero_session(ProcessCache()), VADParams(), batcher=batcher)
    [events] = await _vad_events([analyzer], _pcm("what_are_your_opening_hours"))
    assert events == [] and batcher.runs > 0

"""agent/nodes/vad.py: one Silero session per process, independent state per call."""

from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from agent.nodes.vad import make_analyzer, shared_silero_session
from tests.conftest import caller_audio


def _pcm(name: str) -> bytes:
    from agent.sim.mulaw import ulaw_to_pcm16

    return ulaw_to_pcm16(caller_audio(name))


def test_session_is_loaded_once_per_process():
    shared: dict = {}
    assert shared_silero_session(shared) is shared_silero_session(shared)


async def test_shared_session_analyzers_detect_speech_with_their_own_state():
    session = shared_silero_session({})
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

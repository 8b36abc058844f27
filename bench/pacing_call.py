"""One call of the pacing benchmark: the script, the provider fakes' settings, the analysis.

The call: the greeting plays; the caller asks "I would like to book an appointment for
tomorrow"; the agent answers with a 7.9 s reply; 2 s into what the caller hears of it, the
caller says "wait stop"; the agent answers "Okay, I will stop."; the caller hangs up.

The question is one no route of the receptionist graph's intent router matches, so both
sides answer it through the LLM and the TTS ("how much does it cost" would be answered by
ours from pre-rendered audio, with no LLM or TTS to compare). `bench.pacing` checks that
every question reached the LLM.

`analyse_call(CallResult) -> CallStats` turns the emulator's record of a call into the
benchmark's numbers (definitions in its docstring).

Engine overhead has its own short call (`overhead_script`) against zero-latency fakes
(`configure_zero_latency_fakes`): greeting, the question, its short answer, hang-up;
`engine_overhead(CallResult)` is the caller's speech end to the answer's first audio minus
the VAD stop and the STT's final (`TURN_WAIT_S`; see `FINAL_HOLD_S`).
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agent.nodes.params import AudioPacerParams
from agent.sim.fakes import ProviderFakes
from agent.sim.result import CallResult
from agent.sim.script import (
    BargeIn,
    HangUp,
    Say,
    WaitForAgentAudio,
    WaitForAgentSilence,
    load_ulaw,
)
from agent.sim.turns import turn_latencies

# Not bench.harness's: that needs psutil (the bench extra), and the report's tests import this.
ROOT = Path(__file__).resolve().parents[1]
AUDIO = ROOT / "tests" / "fixtures" / "audio"
QUESTION = "I would like to book an appointment for tomorrow"
QUESTION_AUDIO = "i_would_like_to_book_an_appointment_for_tomorrow.ulaw"
BARGE = "wait stop"
LONG_ANSWER = (
    "Sure, I can help with that. We have openings tomorrow at nine thirty and at two fifteen. "
    "Which one works for you?"
)  # 113 characters: 7.9 s of the Cartesia fake's voice
SHORT_ANSWER = "Okay, I will stop."
BARGE_AFTER_MS = 2000
# Our pacer's default lead: it sends that much audio at once when an utterance starts.
LEAD_S = AudioPacerParams.model_fields["lead_ms"].default / 1000
PRIME_S = LEAD_S + 0.02  # jitter ignores each run's first lead + one chunk (that burst)
MAX_CALL_S = 60.0
# A call is "ok" when the conversation went as scripted: no step timed out, the caller hung
# up, the answer began 0.5-5 s after the question (faster is impossible with these latencies,
# so it would be leftover audio), and a clear came within 2 s of the barge-in.
OK_ANSWER_S = (0.5, 5.0)
OK_CLEAR_S = 2.0
# Engine overhead. Both servers ask the STT to finalize when Silero reports the caller
# stopped (stop_secs 0.2 s after the speech) and end the turn once the 0.4 s speech timeout
# has run and a final transcript is in. The zero-latency run has the Deepgram fake answer that
# finalize FINAL_HOLD_S later, after the speech timeout, so the final transcript is what ends
# the turn; the LLM and TTS fakes answer at once. Then speech end -> first answer audio at the
# caller, minus TURN_WAIT_S, is final transcript -> first audio heard: aggregator, router,
# LLM request and stream, TTS request and audio, pacing, the socket (and the fakes' localhost
# round trips), plus the VAD's own granularity (Silero decides on 32 ms windows). (With a
# zero hold the final comes inside the speech timeout and the turn ends at 0.6 s: the same
# engine time, minus 0.6 s instead.) The first answered turn of a fresh server is ~0.3 s
# slower on both sides (first use of the LLM and TTS clients), so the warm-up call takes a
# whole turn (`overhead_script`).
FINAL_HOLD_S = 0.5
TURN_WAIT_S = 0.2 + FINAL_HOLD_S
# The VAD hears speech end within one 32 ms Silero window of the clip's end, and the clip's
# last words fade out below the volume gate a little before it: a fast engine answers up to
# a few tens of ms "early". Those are measured (slightly negative overhead), not dropped.
OVERHEAD_SLACK_S = 0.08
MAX_OVERHEAD_CALL_S = 30.0


def configure_fakes(fakes: ProviderFakes) -> None:
    fakes.deepgram.final_latency_s = 0.25
    fakes.groq.first_token_latency_s = 0.2
    # The whole answer right after its first token, as the Groq fake sent every answer
    # before it streamed at Groq's pace (2026-12-07): this bench's rows stay comparable
    # across its history, and an alternation's two sides get the same fake whichever
    # checkout's fake it is. bench.turns measures the streamed answer (and first_clause).
    fakes.groq.token_interval_s = 0.0
    fakes.cartesia.first_audio_latency_s = 0.1
    fakes.deepgram.set_script([QUESTION, BARGE])  # every connection starts at the first line
    fakes.groq.replies = [
        ("appointment", LONG_ANSWER),
        ("wait", SHORT_ANSWER),
        ("stop", SHORT_ANSWER),
    ]


def configure_zero_latency_fakes(fakes: ProviderFakes) -> None:
    """The LLM and TTS answer at once, the STT's final ends the turn; a short answer."""
    fakes.deepgram.final_latency_s = FINAL_HOLD_S  # after the speech timeout: see above
    fakes.groq.first_token_latency_s = 0.0
    fakes.cartesia.first_audio_latency_s = 0.0
    fakes.deepgram.set_script([QUESTION])
    fakes.groq.replies = [("appointment", SHORT_ANSWER)]


def overhead_script() -> list:
    return [
        WaitForAgentAudio(timeout=15),  # the greeting
        WaitForAgentSilence(pause=0.3, timeout=20),
        Say(load_ulaw(AUDIO / QUESTION_AUDIO), QUESTION),
        WaitForAgentAudio(timeout=15),  # the short answer
        WaitForAgentSilence(pause=0.3, timeout=20),
        HangUp(),
    ]


def engine_overhead(r: CallResult) -> float | None:
    """Seconds from the end of the question's audio to the answer's first audio at the
    caller, minus TURN_WAIT_S (None: no answer, or the call fell out of step)."""
    turns = [t for t in turn_latencies(r) if t.text == QUESTION]
    if r.timeouts or not turns or turns[0].latency is None:
        return None
    if turns[0].latency < TURN_WAIT_S - OVERHEAD_SLACK_S:  # impossible: out of step
        return None
    return turns[0].latency - TURN_WAIT_S


def call_script() -> list:
    return [
        WaitForAgentAudio(timeout=20),  # the greeting
        WaitForAgentSilence(pause=0.3, timeout=30),
        Say(load_ulaw(AUDIO / QUESTION_AUDIO), QUESTION),
        BargeIn(
            after_ms=BARGE_AFTER_MS,
            audio=load_ulaw(AUDIO / "wait_stop.ulaw"),
            text=BARGE,
            timeout=20,
        ),
        # The interrupted answer stops first. Under load it can still be playing when "wait
        # stop" ends, and waiting for agent audio would then return at once: the caller would
        # hang up before the short answer and its turn would go unmeasured.
        WaitForAgentSilence(pause=0.0, quiet=0.2, timeout=30),
        WaitForAgentAudio(timeout=20),  # the short answer
        WaitForAgentSilence(pause=0.3, timeout=30),
        HangUp(),
    ]


def warm_up_script() -> list:
    """Imports, model loads and first connections happen here, not in the measured calls:
    a whole turn (greeting, question, answer), with `configure_zero_latency_fakes`."""
    return overhead_script()


@dataclass
class CallStats:
    ok: bool = False
    error: str | None = None
    timeouts: list[str] = field(default_factory=list)
    closed_by: str = ""
    jitter_ms: list[float] = field(default_factory=list)
    send_rates: list[float] = field(default_factory=list)  # audio seconds per wall second
    msg_ms: list[float] = field(default_factory=list)  # audio per media message
    max_buffer_s: float | None = None
    underruns: int = 0
    underrun_at: list[tuple[float, float]] = field(default_factory=list)  # (t, gap ms)
    barge_to_clear_s: float | None = None
    barge_to_silence_s: float | None = None
    answer_latency_s: float | None = None
    duration_s: float = 0.0
    caller_audio_s: float = 0.0  # audio (speech or silence) the caller streamed to the server
    heard_s: float = 0.0
    clears: int = 0
    # agent.sim.turns: each caller turn's end -> the agent's next audio (all calls, ok or not)
    turn_latency_s: list[float] = field(default_factory=list)
    unanswered_turns: int = 0

    def record(self) -> dict:
        """The call in one small dict (for --json), without the per-message lists."""
        skip = ("jitter_ms", "send_rates", "msg_ms", "turn_latency_s")
        return {k: v for k, v in asdict(self).items() if k not in skip}


def _media_runs(r: CallResult) -> list[list[tuple[float, int]]]:
    """media_in arrivals grouped into continuous runs of agent audio: a run ends at every
    caller utterance start and every `clear` (the agent's turn changes there)."""
    bounds = sorted(e[1] for e in r.timeline if e[0] in ("say_start", "clear"))
    runs: dict[int, list[tuple[float, int]]] = {}
    for e in r.timeline:
        if e[0] == "media_in":
            runs.setdefault(bisect.bisect_right(bounds, e[1]), []).append((e[1], e[2]))
    return [run for _, run in sorted(runs.items())]


def analyse_call(r: CallResult) -> CallStats:
    """Numbers from one emulated call (times are the emulator's, seconds since the call began).

    - jitter: |inter-arrival - audio duration of the earlier message| of consecutive `media`
      messages within a run of agent audio, once the run has delivered PRIME_S of audio (for
      20 ms messages, Twilio's own unit and what our pacer sends, that is |inter-arrival -
      20 ms|; pipecat's transport sends 40 ms messages);
    - send rate: audio delivered / wall time over the same part of a run (1.0 = real time);
    - barge-in: from the first frame of the caller's "wait stop" (say_start) to the first
      `clear` after it, and to the end of the agent audio the caller was hearing when that
      clear arrived (the end of the last playback run that started before it);
    - answer latency: end of the question's audio to the first agent audio played after it.
    """
    s = CallStats(closed_by=r.closed_by, timeouts=[w for _, w in r.timeouts])
    for run in _media_runs(r):
        s.msg_ms.extend(n / 8 for _, n in run)
        delivered = 0
        first_counted = None
        for i in range(1, len(run)):
            delivered += run[i - 1][1]
            if delivered / 8000 < PRIME_S:
                continue
            if first_counted is None:
                first_counted = i - 1
            # A message of d seconds of audio should be followed d seconds later.
            expected = run[i - 1][1] / 8000
            s.jitter_ms.append(abs(run[i][0] - run[i - 1][0] - expected) * 1000)
        if first_counted is not None and len(run) - first_counted >= 25:
            span = run[-1][0] - run[first_counted][0]
            audio = sum(n for _, n in run[first_counted:-1]) / 8000
            if span > 0:
                s.send_rates.append(audio / span)
    s.max_buffer_s = r.max_buffer_s
    s.duration_s, s.heard_s, s.clears = r.duration_s, r.heard_duration_s(), len(r.clears)
    s.caller_audio_s = r.media_frames_sent * 0.02
    s.underruns = len(r.underruns)
    s.underrun_at = [(round(t, 3), gap) for t, gap in r.underruns]
    turns = turn_latencies(r)
    s.turn_latency_s = [t.latency for t in turns if t.latency is not None]
    s.unanswered_turns = sum(1 for t in turns if t.latency is None)

    says = {(e[2], e[0]): e[1] for e in reversed(r.timeline) if e[0] in ("say_start", "say_end")}
    barge_t = says.get((BARGE, "say_start"))
    if barge_t is not None:
        clear_t = next((t for t in r.clears if t >= barge_t), None)
        if clear_t is not None:
            s.barge_to_clear_s = clear_t - barge_t
            # The run of agent audio playing when the clear arrived (or the last one before
            # it, if an underrun had already silenced the agent): the caller heard it until
            # its end. Audio that starts after the clear is the next answer.
            before = [end for start, end in r.agent_speech_segments if start <= clear_t]
            if before:
                s.barge_to_silence_s = max(0.0, before[-1] - barge_t)
    asked_t = says.get((QUESTION, "say_end"))
    if asked_t is not None:
        s.answer_latency_s = next(
            (e[1] - asked_t for e in r.timeline if e[0] == "playback_start" and e[1] >= asked_t),
            None,
        )
    s.ok = (
        not s.timeouts
        and r.closed_by == "caller"
        and s.answer_latency_s is not None
        and OK_ANSWER_S[0] <= s.answer_latency_s <= OK_ANSWER_S[1]
        and s.barge_to_clear_s is not None
        and s.barge_to_clear_s <= OK_CLEAR_S
    )
    if not s.ok:
        # The script of a failed call may have fallen out of step with the agent (taking a
        # gap in a stuttering greeting for its end, say): what it measured as the answer's
        # latency may be leftover greeting. (Barge-in times stay: the caller did speak then.)
        s.answer_latency_s = None
    return s

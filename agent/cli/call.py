"""`python -m agent call [URL]`: phone a running server the way Twilio does, from this terminal.

    python -m agent call --say "how much is it" --say "where are you" --say "bye"
    python -m agent call https://abc.ngrok.app --wav question.wav --barge-in 800 --say "stop"

It rings the server's voice webhook (signed with TWILIO_AUTH_TOKEN when set, over the public
URL), reads the TwiML, opens the signed Media Stream and then plays the caller in real time
with the Twilio emulator (agent/sim): 20 ms media frames, the agent's audio played at 8 kHz,
marks echoed as they play, `clear` honoured. Lines are text (spoken with the bundled Piper
voice) or WAV files, said in order: each waits until the agent has finished talking and
then `--pause` seconds, or, after `--barge-in MS`, talks over the agent MS ms after its
next reply starts. The live transcript shows both sides (the agent's audio written down by
Whisper as each run of it ends) with each reply's latency; the call is saved as a stereo WAV
(caller left, agent right, on the call's clock) and an HTML timeline.

Exit status: 0 when every line got an answer, 1 when the agent left a line unanswered, 2 when
the call could not be placed (the reason is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from agent.audio import wav_to_ulaw
from agent.cli.common import load_config
from agent.sim import script as s
from agent.sim import turns, voice
from agent.sim.emulator import EmulatorError, TwilioEmulator
from agent.sim.recording import write_call_wav
from agent.sim.result import split_runs
from agent.sim.timeline import write_timeline
from agent.sim.voice import LocalSpeechMissing

ANSWER_TIMEOUT_S = 20.0  # how long a line waits for the agent to start answering
FINAL_LINGER_S = 2.5  # silence after the last answer before the caller hangs up


@dataclass(frozen=True)
class Line:
    """One thing the caller says: its words, its audio (mu-law) and when to say it."""

    text: str
    audio: bytes
    barge_in_ms: int | None = None  # None: after the agent finishes; else over its reply


class LineAction(argparse.Action):
    """--say/--wav/--barge-in keep their order in one list: (kind, value)."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest) or [])
        items.append((option_string.lstrip("-"), values))
        setattr(namespace, self.dest, items)


def prepare_lines(items: list[tuple[str, str]], transcribe: bool = True) -> list[Line]:
    """Turn ordered --say/--wav/--barge-in options into lines (synthesizing the text ones)."""
    lines: list[Line] = []
    barge: int | None = None
    for kind, value in items:
        if kind == "barge-in":
            barge = int(value)
            continue
        if kind == "say":
            lines.append(Line(value, voice.say_ulaw(value), barge))
        else:
            audio = wav_to_ulaw(value)
            text = voice.transcribe_ulaw(audio) if transcribe else ""
            lines.append(Line(text or Path(value).stem.replace("_", " "), audio, barge))
        barge = None
    if barge is not None:
        raise ValueError("--barge-in must come before the --say or --wav it applies to")
    return lines


def build_script(lines: list[Line], pause: float, hang_up: bool = True) -> s.Script:
    """The caller's script: greeting, then each line on its timing rule, then goodbye."""
    steps: s.Script = [s.WaitForAgentAudio(timeout=ANSWER_TIMEOUT_S)]  # the greeting
    for line in lines:
        if line.barge_in_ms is None:
            steps.append(s.WaitForAgentSilence(pause=pause, timeout=60.0))
            steps.append(s.Say(line.audio, line.text))
        else:
            steps.append(s.BargeIn(line.barge_in_ms, line.audio, line.text, ANSWER_TIMEOUT_S))
        steps.append(s.WaitForAgentAudio(timeout=ANSWER_TIMEOUT_S))
    # After the last line, linger as a person would: if the agent is going to hang up (a
    # goodbye), it does so first.
    steps.append(s.WaitForAgentSilence(pause=max(pause, FINAL_LINGER_S), timeout=60.0))
    if hang_up:
        steps.append(s.HangUp())
    return steps


class Narrator:
    """Prints the call as it happens, from the live emulator session (polled, 10 per second).

    Caller lines print when they start; each run of agent audio prints when it has played,
    with Whisper's transcript of it (in a worker thread), the latency since the caller's
    last words and whether a `clear` cut it off.
    """

    def __init__(self, out: TextIO, transcribe: bool):
        self.out = out
        self.transcribe = transcribe
        self.session = None
        self.agent_texts: dict[int, str] = {}
        self._seen_events = 0
        self._seen_runs = 0
        self._last_caller_end: float | None = None
        self._answered = True

    def attach(self, session) -> None:
        self.session = session

    def _print(self, t: float, who: str, text: str, note: str = "") -> None:
        note = f"  ({note})" if note else ""
        print(f"{t:7.2f}s  {who:<6} │ {text}{note}", file=self.out, flush=True)

    async def run(self, done: asyncio.Event) -> None:
        while True:
            await self.poll()
            if done.is_set():
                await self.poll(final=True)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.1)

    async def poll(self, final: bool = False) -> None:
        session = self.session
        if session is None:
            return
        timeline = session.timeline
        while self._seen_events < len(timeline):
            event = timeline[self._seen_events]
            self._seen_events += 1
            if event[0] == "say_start":
                self._print(event[1], "caller", event[2])
            elif event[0] == "say_end":
                self._last_caller_end, self._answered = event[1], False
            elif event[0] == "dtmf":
                self._print(event[1], "caller", f"presses {event[2]}")
        playback = session.playback
        if final:
            playback.finish()
        runs = list(playback.segments)
        clears = [e[1] for e in playback.timeline if e[0] == "clear"]
        while self._seen_runs < len(runs):
            index = self._seen_runs
            self._seen_runs += 1
            start, end = runs[index]
            await self._print_run(index, start, end, clears)

    async def _print_run(self, index: int, start: float, end: float, clears: list[float]):
        notes = []
        # The first run that starts after the caller's last words answers them. A run that
        # started before (an answer the caller talked over) is not, even when this printer
        # sees it only after those words ended (a slow poll under load).
        ended = self._last_caller_end
        if not self._answered and ended is not None and start >= ended:
            notes.append(f"answered in {start - ended:.2f} s")
            self._answered = True
        if any(start <= c <= end + 0.05 for c in clears):
            notes.append("cut off by clear")
        text = f"[{end - start:.1f} s of audio]"
        if self.transcribe:
            playback = self.session.playback
            audio = split_runs(playback.heard, playback.segments[: index + 1])[index][2]
            words = await asyncio.to_thread(voice.transcribe_ulaw, audio)
            text = words or "[no words]"
            self.agent_texts[index] = words
        self._print(start, "agent", text, ", ".join(notes))


def _public_url(url: str, public_url: str | None, config) -> str:
    if public_url:
        return public_url
    host = urlsplit(url).hostname or ""
    if config.public_host and host in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
        return f"https://{config.public_host}"  # the URL the local server checks signatures on
    return url


async def place(args, lines: list[Line], config, out: TextIO) -> int:
    url = (args.url or f"http://127.0.0.1:{config.port}").rstrip("/")
    token = args.auth_token or (
        config.twilio_auth_token.reveal() if config.twilio_auth_token else None
    )
    emulator = TwilioEmulator(
        url,
        auth_token=token,
        account_sid=config.twilio_account_sid,
        public_base_url=_public_url(url, args.public_url, config),
        allow_ws=urlsplit(url).scheme == "http",
    )
    narrator = Narrator(out, transcribe=not args.no_transcribe)
    query = {"graph": args.graph} if args.graph else {}
    print(f"calling {url}{args.path} as {args.from_} ({len(lines)} line(s) to say)", file=out)
    done = asyncio.Event()
    watcher = asyncio.create_task(narrator.run(done))
    try:
        result = await emulator.place_call(
            build_script(lines, args.pause),
            path=args.path,
            query=query,
            from_=args.from_,
            to=args.to,
            max_duration=args.max_duration,
            on_connected=narrator.attach,
        )
    except EmulatorError as exc:
        print(f"call failed: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"call failed: cannot reach {url}: {exc}", file=sys.stderr)
        return 2
    finally:
        done.set()
        await watcher

    summary = turns.summary(result)
    who = {"caller": "the caller", "server": "the agent", "api": "the REST API"}
    print(
        f"call ended by {who.get(result.closed_by, result.closed_by)} after "
        f"{result.duration_s:.1f} s · {_latency_text(summary)} · "
        f"underruns {len(result.underruns)} · clears {len(result.clears)}",
        file=out,
    )
    if args.wav:
        write_call_wav(result, args.wav)
        print(f"wrote {args.wav} (caller left, agent right)", file=out)
    if args.timeline:
        title = f"{url} {args.graph or ''} {result.call_sid}".strip()
        texts = utterance_texts(result, narrator.agent_texts)
        write_timeline(result, args.timeline, title=title, agent_texts=texts)
        print(f"wrote {args.timeline} (timeline)", file=out)
    unanswered = [t for t in result.timeouts if "WaitForAgentAudio" in t[1]]
    if unanswered or result.protocol_errors:
        for t, what in result.timeouts:
            print(f"  {t:.2f}s: gave up waiting: {what}", file=sys.stderr)
        for t, what in result.protocol_errors:
            print(f"  {t:.2f}s: protocol error: {what}", file=sys.stderr)
        return 1
    return 0


def utterance_texts(result, run_texts: dict[int, str]) -> dict[int, str]:
    """Transcripts per heard run → per utterance (turns.agent_utterances joins stuttered runs)."""
    runs = result.agent_speech_segments
    texts: dict[int, str] = {}
    for i, utterance in enumerate(turns.agent_utterances(result)):
        parts = [
            run_texts[j]
            for j, (start, _end) in enumerate(runs)
            if j in run_texts and utterance.start - 1e-3 <= start <= utterance.end
        ]
        if parts:
            texts[i] = " ".join(p for p in parts if p)
    return texts


def _latency_text(summary: dict) -> str:
    p50, worst = summary.get("latency_p50_s"), summary.get("latency_max_s")
    if p50 is None:
        return "no answered turns"
    return f"reply latency p50 {p50:.2f} s, max {worst:.2f} s"


def main(args: argparse.Namespace) -> int:
    """`python -m agent call`."""
    return run(args, load_config())


def run(args, config, out: TextIO = sys.stdout) -> int:
    started = time.monotonic()
    try:
        lines = prepare_lines(args.lines or [], transcribe=not args.no_transcribe)
    except (LocalSpeechMissing, ValueError, OSError) as exc:
        print(f"cannot prepare the lines: {exc}", file=sys.stderr)
        return 2
    if lines:
        print(f"prepared {len(lines)} line(s) in {time.monotonic() - started:.1f} s", file=out)
    return asyncio.run(place(args, lines, config, out))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url", nargs="?", help="the server's base URL (default: http://127.0.0.1:$PORT)"
    )
    lines = parser.add_argument_group("what the caller says, in order")
    lines.add_argument("--say", dest="lines", action=LineAction, metavar="TEXT", help="a line")
    lines.add_argument("--wav", dest="lines", action=LineAction, metavar="FILE", help="a WAV line")
    lines.add_argument(
        "--barge-in",
        dest="lines",
        action=LineAction,
        metavar="MS",
        help="say the next line over the agent, MS ms after its reply starts",
    )
    parser.add_argument(
        "--pause", type=float, default=0.6, help="seconds after the agent finishes (0.6)"
    )
    parser.add_argument("--graph", help="graph to ask for (?graph=; default: the server's)")
    parser.add_argument("--path", default="/twiml", help="voice webhook path (/twiml)")
    parser.add_argument("--from", dest="from_", default="+15550001111", help="caller number")
    parser.add_argument("--to", default="+15550002222", help="called number")
    parser.add_argument("--wav-out", dest="wav", default="call.wav", help="stereo WAV ('' none)")
    parser.add_argument(
        "--timeline", default="call.html", help="timeline page, .html or .png ('' none)"
    )
    parser.add_argument("--max-duration", type=float, default=180.0, help="hang up after (s)")
    parser.add_argument(
        "--auth-token", help="sign as this Twilio account (default: TWILIO_AUTH_TOKEN)"
    )
    parser.add_argument(
        "--public-url",
        help="the URL signatures cover (default: https://PUBLIC_HOST for a "
        "local URL when PUBLIC_HOST is set, else URL)",
    )
    parser.add_argument(
        "--no-transcribe", action="store_true", help="do not write down the agent with Whisper"
    )

"""The caller's side of a scenario run: the fakes' scripts and the caller's audio.

- The caller's lines: the Deepgram fake "hears" the scenario's lines in order (its audio
  only times them: voice-like audio from agent/sim/fakes/synth.py); a graph whose STT runs
  here (whisper_stt), or any with `--live`, hears real speech: the lines spoken by Piper
  (agent/sim/voice.py), one Piper at a time (`CallerVoice`).
- The LLM: the Groq fake answers each line with the step's `reply` (else "You said: LINE.").
- A transfer that comes back opens a new stream: `rescript_after_transfer` starts the STT
  fake's script again from the step after the one that transferred.
"""

from __future__ import annotations

import asyncio
import functools

from agent.graph.resolved import Graph
from agent.scenarios.caller import GREETING_STEP, MARK
from agent.scenarios.model import Scenario
from agent.sim.fakes import ToolCall
from agent.sim.fakes.synth import VoiceParams, lin2ulaw, synth_speech
from agent.sim.voice import say_ulaw

# The fakes' voice (the caller's lines, the fake TTS): a brisk talker, so runs are short;
# cached phrases play as recorded.
VOICE = VoiceParams(ms_per_char=55.0)
REAL_SPEECH_STT = ("whisper_stt",)  # STT that runs here: the caller must say real words


class CallerVoice:
    """The caller's lines as audio, shared by a process's runs (one Piper at a time)."""

    def __init__(self) -> None:
        self._piper_lock = asyncio.Lock()

    async def speech(self, text: str, real: bool) -> bytes:
        """The caller's line as mu-law: Piper's voice for a local STT, else voice-like audio."""
        if not real:
            return _synth_ulaw(text)
        async with self._piper_lock:  # one Piper at a time; cached per line
            return await asyncio.to_thread(_piper_ulaw, text)


async def script_fakes(
    fakes, graph: Graph, scenario: Scenario, voice: CallerVoice, live: bool
) -> dict[str, bytes]:
    """The fakes' scripts for the scenario, and the audio of every line said in it."""
    # Real words for an STT that listens: a local one, or any with --live.
    real = live or any(n.type.name in REAL_SPEECH_STT for n in graph.nodes.values())
    lines = [step.line for step in scenario.steps if step.line]
    outbound = scenario.outbound
    if outbound is not None and outbound.answers == "voicemail":
        # The greeting, then nothing the beep or the line might be heard as.
        lines = [outbound.greeting, "", "", ""]
    elif outbound is not None and outbound.hello:
        lines = [outbound.hello, *lines]
    audio = {}
    for line in lines:
        if line and line not in audio:
            audio[line] = await voice.speech(line, real)
    fakes.deepgram.set_script(lines)
    fakes.cartesia.voice = VOICE
    fakes.groq.replies = [
        (step.line, _reply(step.reply)) for step in scenario.steps if step.reply is not None
    ]
    return audio


@functools.cache
def _synth_ulaw(text: str) -> bytes:
    return lin2ulaw(synth_speech(text, 8000, VOICE)).tobytes()


@functools.cache
def _piper_ulaw(text: str) -> bytes:
    return say_ulaw(text)  # Piper loads on first use (local graphs only)


def _reply(reply) -> str | ToolCall:
    return reply if isinstance(reply, str) else ToolCall(reply.tool, dict(reply.arguments))


async def rescript_after_transfer(fakes, scenario: Scenario, sessions: list) -> None:
    """A transfer that comes back opens a new stream, whose STT connection starts its script
    again: from then on, it hears the lines of the steps after the one that transferred."""
    seen = 0
    while True:
        await asyncio.sleep(0.05)
        updates = len(fakes.twilio.twiml_updates)
        if updates == seen or not sessions:
            continue
        seen = updates
        marks = [e[2] for e in sessions[0].timeline if e[0] == "say_start" and MARK in str(e[2])]
        current = int(marks[-1][len(MARK) :]) if marks else GREETING_STEP
        fakes.deepgram.set_script([st.line for st in scenario.steps[current + 1 :] if st.line])

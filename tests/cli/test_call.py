"""agent/cli/call.py: options keep their order, timing rules become the right script."""

from __future__ import annotations

import argparse

import pytest

from agent.cli.call import Line, add_arguments, build_script, prepare_lines
from agent.sim import script as s


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_say_wav_and_barge_in_keep_their_order():
    args = parse("http://x", "--say", "hi", "--wav", "a.wav", "--barge-in", "800", "--say", "stop")
    assert args.lines == [("say", "hi"), ("wav", "a.wav"), ("barge-in", "800"), ("say", "stop")]
    assert args.url == "http://x" and args.pause == 0.6


def test_timing_rules_become_waits_or_a_barge_in():
    lines = [Line("hi", b"\x01" * 160), Line("stop", b"\x02" * 160, barge_in_ms=800)]
    steps = build_script(lines, pause=0.4)
    kinds = [type(step) for step in steps]
    assert kinds == [
        s.WaitForAgentAudio,  # the greeting
        s.WaitForAgentSilence,  # "hi" waits for the agent to finish, then pauses
        s.Say,
        s.WaitForAgentAudio,  # its answer starts
        s.BargeIn,  # "stop" talks over that answer
        s.WaitForAgentAudio,
        s.WaitForAgentSilence,
        s.HangUp,
    ]
    assert steps[1].pause == 0.4 and steps[4].after_ms == 800 and steps[4].text == "stop"
    assert steps[-2].pause == 2.5  # the caller lingers: an agent's goodbye and hang-up first


def test_a_trailing_barge_in_is_refused():
    with pytest.raises(ValueError, match="--barge-in must come before"):
        prepare_lines([("say", "hi"), ("barge-in", "500")], transcribe=False)


def test_text_lines_are_spoken_and_wav_lines_read(tmp_path):
    from agent.audio import write_wav
    from agent.sim.voice import say_ulaw

    path = tmp_path / "hello_there.wav"
    write_wav(path, say_ulaw("Hello there."))
    lines = prepare_lines([("say", "How much is it?"), ("wav", str(path))], transcribe=True)
    assert lines[0].text == "How much is it?" and len(lines[0].audio) > 8000 * 0.5
    assert "hello" in lines[1].text.lower()  # a WAV line's words come from Whisper

"""ContextWindow keeps the prompt plus the last N exchanges, never splitting a tool call."""

from __future__ import annotations

import pytest
from pipecat.frames.frames import LLMContextFrame, TextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import run_test

from processors.context_window import ContextWindow, trim_messages

SYSTEM = {"role": "system", "content": "You are terse."}


def exchange(n: int) -> list[dict]:
    return [{"role": "user", "content": f"q{n}"}, {"role": "assistant", "content": f"a{n}"}]


def history(turns: int) -> list[dict]:
    return [SYSTEM] + [m for n in range(1, turns + 1) for m in exchange(n)]


async def test_trims_context_frames_and_passes_everything_on():
    context = LLMContext(messages=[*history(5), {"role": "user", "content": "q6"}])
    down, _ = await run_test(
        ContextWindow(max_turns=2),
        frames_to_send=[TextFrame("hello"), LLMContextFrame(context)],
        expected_down_frames=[TextFrame, LLMContextFrame],
    )
    assert down[1].context is context
    assert context.get_messages() == [SYSTEM, *exchange(5), {"role": "user", "content": "q6"}]


async def test_short_context_is_untouched():
    messages = history(2)
    context = LLMContext(messages=list(messages))
    await run_test(
        ContextWindow(max_turns=2),
        frames_to_send=[LLMContextFrame(context)],
        expected_down_frames=[LLMContextFrame],
    )
    assert context.get_messages() == messages


def test_keeps_all_leading_prompt_messages():
    developer = {"role": "developer", "content": "tools changed"}
    kept = trim_messages([SYSTEM, developer, *history(3)[1:]], 1)
    assert kept == [SYSTEM, developer, *exchange(3)]


def test_no_prompt_at_all():
    assert trim_messages(history(3)[1:], 2) == [*exchange(2), *exchange(3)]


def test_never_separates_a_tool_call_from_its_result():
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    }
    result = {"role": "tool", "tool_call_id": "c1", "content": "done"}
    messages = [
        SYSTEM,
        *exchange(1),
        {"role": "user", "content": "q2"},
        call,
        *exchange(3),  # the result of c1 arrives late, after the next exchange started
        result,
        *exchange(4),
    ]
    kept = trim_messages(messages, 2)
    assert kept == [
        SYSTEM,
        {"role": "user", "content": "q2"},
        call,
        *exchange(3),
        result,
        *exchange(4),
    ]


def test_max_turns_must_be_positive():
    with pytest.raises(ValueError):
        ContextWindow(max_turns=0)

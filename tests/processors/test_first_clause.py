"""processors/first_clause.py: the first clause of each answer is released early, and only
where a cut sounds natural; run alone and inside pipecat's LLMTextProcessor."""

from __future__ import annotations

import pytest
from pipecat.frames.frames import (
    AggregatedTextFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
)
from pipecat.processors.aggregators.llm_text_processor import LLMTextProcessor
from pipecat.tests.utils import SleepFrame, run_test

from agent.sim.fakes.groq import tokenize
from processors.first_clause import FirstClauseAggregator, clause_end


async def pieces_of(text: str, min_words: int = 4, chunks: list[str] | None = None) -> list[str]:
    aggregator = FirstClauseAggregator(min_words=min_words)
    out = []
    for chunk in chunks if chunks is not None else tokenize(text):
        out += [a.text async for a in aggregator.aggregate(chunk)]
    if (rest := await aggregator.flush()) is not None:
        out.append(rest.text)
    return out


@pytest.mark.parametrize(
    "text,min_words,expected",
    [
        # the first clause alone, then sentences
        (
            "We have an opening tomorrow, at nine thirty. Does that work for you?",
            4,
            ["We have an opening tomorrow, ", "at nine thirty.", "Does that work for you?"],
        ),
        # only the first clause: later commas wait for their sentence
        (
            "We open at nine on weekdays, and close at five, except Fridays.",
            4,
            ["We open at nine on weekdays, ", "and close at five, except Fridays."],
        ),
        # too few words before the comma: the sentence as before
        ("Sure, tomorrow at nine thirty works.", 4, ["Sure, tomorrow at nine thirty works."]),
        ("Sure, tomorrow at nine thirty works.", 1, ["Sure, ", "tomorrow at nine thirty works."]),
        # a first sentence that ends before any clause: nothing else is cut early
        (
            "Hi. We open at nine, and close at five.",
            1,
            ["Hi.", "We open at nine, and close at five."],
        ),
        # semicolon, colon, dashes
        (
            "Our office is closed today; we reopen on Monday.",
            4,
            ["Our office is closed today; ", "we reopen on Monday."],
        ),
        (
            "Here is what you need to bring: your card.",
            4,
            ["Here is what you need to bring: ", "your card."],
        ),
        (
            "We are open Monday to Friday—nine to five.",
            4,
            ["We are open Monday to Friday—", "nine to five."],
        ),
        (
            "We are open Monday to Friday - nine to five.",
            4,
            ["We are open Monday to Friday - ", "nine to five."],
        ),
        # numbers, money, times, dates, abbreviations, hyphens are never cut
        (
            "The plan costs 1,000 dollars a year or $20.50 monthly.",
            1,
            ["The plan costs 1,000 dollars a year or $20.50 monthly."],
        ),
        (
            "Doctor Patel can see you at 9:30 tomorrow.",
            1,
            ["Doctor Patel can see you at 9:30 tomorrow."],
        ),
        (
            "We can see you on March 3, 2027 in the morning.",
            1,
            ["We can see you on March 3, 2027 in the morning."],
        ),
        (
            "You can pay by card, e.g., Visa or Mastercard.",
            4,
            ["You can pay by card, ", "e.g., Visa or Mastercard."],
        ),
        (
            "We take most major plans e.g., Aetna and Cigna.",
            2,
            ["We take most major plans e.g., Aetna and Cigna."],
        ),
        (
            "Dr. Smith sees patients Monday to Friday, nine to five.",
            4,
            ["Dr. Smith sees patients Monday to Friday, ", "nine to five."],
        ),
        (
            "Our well-known office opens at nine–ten on Mondays.",
            1,
            ["Our well-known office opens at nine–ten on Mondays."],
        ),
        # inside a <spell> tag (Cartesia's) nothing is cut
        (
            "Your code is <spell>A, B, C, D</spell>, okay?",
            1,
            ["Your code is <spell>A, B, C, D</spell>, ", "okay?"],
        ),
    ],
)
async def test_where_the_first_clause_is_cut(text, min_words, expected):
    assert await pieces_of(text, min_words) == expected
    assert "".join(expected).replace(" ", "") == text.replace(" ", "")  # nothing lost


async def test_the_cut_does_not_depend_on_how_the_text_is_chunked():
    text = "We have an opening tomorrow, at nine thirty. Does that work for you?"
    by_tokens = await pieces_of(text)
    assert await pieces_of(text, chunks=[text]) == by_tokens  # one burst
    assert await pieces_of(text, chunks=list(text)) == by_tokens  # a character at a time


async def test_each_answer_starts_afresh_after_flush_and_interruption():
    aggregator = FirstClauseAggregator(min_words=1)
    first = [a.text async for a in aggregator.aggregate("Sure, one. Yes, two.")]
    assert first == ["Sure, ", "one."]
    assert (await aggregator.flush()).text == "Yes, two."
    assert [a.text async for a in aggregator.aggregate("Okay, three.")] == ["Okay, "]
    await aggregator.handle_interruption()  # the rest of that answer is dropped
    assert [a.text async for a in aggregator.aggregate("Right, four.")] == ["Right, "]


def test_clause_end_rules():
    assert clause_end("one two three four, ", "f", 4)
    assert not clause_end("one two three, ", "f", 4)
    assert not clause_end("one two three four,", "0", 4)  # "four,000"
    assert not clause_end("one two three 4, ", "5", 4)
    assert not clause_end("one two three four", "f", 4)
    with pytest.raises(ValueError):
        FirstClauseAggregator(min_words=0)


async def test_in_pipecats_llm_text_processor_the_clause_goes_out_before_the_sentence_ends():
    answer = "We have an opening tomorrow, at nine thirty in the morning."
    processor = LLMTextProcessor(text_aggregator=FirstClauseAggregator(min_words=4))
    frames = [LLMFullResponseStartFrame(), *(LLMTextFrame(t) for t in tokenize(answer))]
    frames.append(LLMFullResponseEndFrame())

    down, _ = await run_test(processor, frames_to_send=frames)

    kinds = [
        ("text", f.text) if isinstance(f, AggregatedTextFrame) else type(f).__name__ for f in down
    ]
    assert kinds == [
        "LLMFullResponseStartFrame",
        ("text", "We have an opening tomorrow, "),
        ("text", "at nine thirty in the morning."),
        "LLMFullResponseEndFrame",
    ]


async def test_an_interruption_drops_the_held_text():
    processor = LLMTextProcessor(text_aggregator=FirstClauseAggregator(min_words=1))
    frames = [
        LLMFullResponseStartFrame(),
        *(LLMTextFrame(t) for t in tokenize("Sure, we can do that")),
        SleepFrame(0.05),  # the tokens are in before the interruption
        InterruptionFrame(),
        LLMFullResponseStartFrame(),
        *(LLMTextFrame(t) for t in tokenize("Okay, bye.")),
        LLMFullResponseEndFrame(),
    ]
    down, _ = await run_test(processor, frames_to_send=frames)
    texts = [f.text for f in down if isinstance(f, AggregatedTextFrame)]
    assert texts == ["Sure, ", "Okay, ", "bye."]

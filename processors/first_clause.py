"""FirstClauseAggregator: an answer's first clause goes to the TTS before its first sentence ends.

pipecat's TTS services send the LLM's text to the TTS a sentence at a time (their
`SimpleTextAggregator`; Cartesia's `SkipTagsAggregator`, which keeps `<spell>` tags whole).
The caller hears nothing until the first sentence's last token has come. This aggregator
releases the first clause of each answer instead: at a comma, semicolon, colon or dash once
the clause has at least `min_words` words. After that (and after any first sentence that
ended before a clause did) it is the sentence aggregator unchanged, until the answer ends
(`flush`), is interrupted or reset. Cartesia speaks the pieces of a turn in one context, as
continuations, so the voice carries on across the cut (docs/decisions/faster-turns.md).

A cut is decided at the first character after the mark and its space (like pipecat's own
sentence lookahead), so it never splits:
- numbers and times: "1,000", "9:30", "$20.50" (no space after the mark; a period is never
  a clause mark), nor a comma between two numbers ("March 3, 2027", "1, 2, 3");
- abbreviations: not after a word that ends in a period ("e.g.,", "Inc.,");
- inside an open `<spell>` tag;
- a hyphen inside a word ("nine-thirty"): only a spaced hyphen (" - ") or an en dash
  with spaces is a dash; an em dash ("—") counts with or without spaces.

The clause keeps its trailing space: Cartesia joins a context's transcripts verbatim, so
"Sure, I can help, " + "tomorrow works." reads as one sentence.

Text in, text out, no frames: pipecat's `LLMTextProcessor` runs it in the pipeline
(agent/nodes/cartesia.py, the node's `first_clause`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from pipecat.utils.text.base_text_aggregator import Aggregation, BaseTextAggregator, TextType
from pipecat.utils.text.skip_tags_aggregator import SkipTagsAggregator

CLAUSE_MARKS = (",", ";", ":", "—", "–")
SPELL_TAGS = ("<spell>", "</spell>")  # the tags pipecat's Cartesia service keeps whole
FIRST_CLAUSE_MIN_WORDS = 4
_WORD = re.compile(r"\w+(?:[’'.,:]\w+)*")


def clause_end(head: str, next_char: str, min_words: int) -> bool:
    """Whether `head` (the text so far, up to but not including `next_char`, the first
    non-space character after it) ends with a clause that may be spoken on its own."""
    text = head.rstrip()
    spaced = len(text) < len(head)
    if not text:
        return False
    mark = text[-1]
    if mark == "-":
        # a dash only when spaced on both sides: "word - word", "word -- word"
        if not spaced or not re.search(r"\s-{1,2}$", text):
            return False
    elif mark not in CLAUSE_MARKS or mark != "—" and not spaced:
        return False
    before = text.rstrip("-—–,;: ")
    if not before:
        return False
    if before[-1].isdigit() and next_char.isdigit():  # "March 3, 2027", "1, 2, 3"
        return False
    if before.endswith("."):  # "e.g.,", "Inc.,"
        return False
    if text.count(SPELL_TAGS[0]) > text.count(SPELL_TAGS[1]):
        return False
    return len(_WORD.findall(before)) >= min_words


class FirstClauseAggregator(BaseTextAggregator):
    """Sentences, except that each answer's first clause is released on its own."""

    def __init__(
        self,
        *,
        min_words: int = FIRST_CLAUSE_MIN_WORDS,
        sentences: BaseTextAggregator | None = None,
        language: str | None = None,
    ):
        super().__init__(aggregation_type=TextType.SENTENCE, language=language)
        if min_words < 1:
            raise ValueError("min_words must be at least 1")
        self._min_words = min_words
        # The sentence aggregator the TTS service would have used (Cartesia's).
        self._sentences = sentences or SkipTagsAggregator([SPELL_TAGS], language=language)
        self._released = False  # something of this answer went to the TTS already

    @property
    def text(self) -> Aggregation:
        return self._sentences.text

    def set_language(self, language: str | None) -> None:
        super().set_language(language)
        self._sentences.set_language(language)

    async def aggregate(self, text: str) -> AsyncIterator[Aggregation]:
        for i, char in enumerate(text):
            if self._released:
                async for sentence in self._sentences.aggregate(text[i:]):
                    yield sentence
                return
            async for sentence in self._sentences.aggregate(char):
                self._released = True
                yield sentence
            if self._released or char.isspace():
                continue
            held = self._sentences.text.text  # the buffer, ending with `char`
            head = held[:-1]
            if clause_end(head, char, self._min_words):
                self._released = True
                await self._sentences.reset()
                clause = head.rstrip() + " " if head[-1:].isspace() else head  # "Friday—"
                yield Aggregation(text=clause, type=TextType.SENTENCE)
                async for sentence in self._sentences.aggregate(char):
                    yield sentence

    async def flush(self) -> Aggregation | None:
        self._released = False  # the answer ended: the next one starts afresh
        return await self._sentences.flush()

    async def handle_interruption(self) -> None:
        self._released = False
        await self._sentences.handle_interruption()

    async def reset(self) -> None:
        self._released = False
        await self._sentences.reset()

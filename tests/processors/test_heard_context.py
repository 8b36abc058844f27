"""processors/heard_context.py and heard_text.py: the context keeps only what was heard."""

from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import run_test

from processors.frames import HeardTextFrame
from processors.heard_context import HeardContextEditor, rewrite_last_assistant
from processors.heard_text import HeardText


def test_rewrites_the_interrupted_reply():
    messages = [
        {"role": "user", "content": "how much"},
        {"role": "assistant", "content": "It costs twenty dollars a month and includes"},
    ]
    rewrite_last_assistant(messages, "It costs twenty")
    assert messages[-1] == {"role": "assistant", "content": "It costs twenty [interrupted]"}


def test_adds_the_reply_when_the_aggregator_had_written_none():
    messages = [{"role": "user", "content": "how much"}]
    rewrite_last_assistant(messages, "")
    assert messages[-1] == {"role": "assistant", "content": "[interrupted]"}


async def test_editor_edits_the_shared_context_on_heard_text():
    context = LLMContext(
        messages=[
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello, welcome to Acme, how"},
        ]
    )
    await run_test(
        HeardContextEditor([context]),
        frames_to_send=[HeardTextFrame(text="Hello, welcome", spoken="x", interrupted=True)],
    )
    assert context.get_messages()[-1]["content"] == "Hello, welcome [interrupted]"


def test_heard_text_counts_words_started_before_the_last_echoed_mark():
    heard = HeardText()
    heard.start(1)
    for offset, text in [(0, "It"), (3000, "costs"), (9000, "twenty"), (16000, "dollars.")]:
        heard.add_word(1, offset, text)
    heard.add_audio(1, 24000)
    assert heard.heard() == ""
    heard.played(1, 8000)
    assert heard.heard() == "It costs"
    heard.played(1, 4000)  # an older echo never moves it back
    assert heard.heard() == "It costs"
    heard.played(1, 24000)
    assert heard.heard() == heard.spoken() == "It costs twenty dollars."
    assert heard.fully_heard()

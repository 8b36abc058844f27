"""processors/message_taking.py: the message-taking dialog, with pipecat's run_test.

Each test sends what starts message-taking and the contexts pipecat's user aggregator would
send at the end of each caller turn, and reads what the dialog says (LLM-like text frames)
and the message it hands to its sink. The message's time comes from a fixed clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipecat.frames.frames import LLMContextFrame, LLMTextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import run_test

from agent.graph.model import MessagesSettings
from processors.frames import OfferMessageFrame, TakeMessageFrame
from processors.message_taking import MessageTaker, TakenMessage

CALLER_ID = "+15555550100"
NOW = 1_780_000_000.0
S = MessagesSettings()


class Sink:
    def __init__(self):
        self.messages: list[TakenMessage] = []

    def message_taken(self, message: TakenMessage) -> None:
        self.messages.append(message)


def taker(caller_id: str | None = CALLER_ID) -> tuple[MessageTaker, Sink]:
    sink = Sink()
    dialog = MessageTaker(S, caller_id, clock=lambda: NOW, name="messages")
    dialog.bind_sink(sink)
    return dialog, sink


def turns(*said: str) -> list[LLMContextFrame]:
    """The aggregator's context after each caller turn (the conversation so far)."""
    frames, messages = [], []
    for words in said:
        messages = [*messages, {"role": "user", "content": words}]
        frames.append(LLMContextFrame(LLMContext(list(messages))))
    return frames


def spoken(frames) -> list[str]:
    return [f.text for f in frames if isinstance(f, LLMTextFrame)]


async def test_caller_id_accepted_read_back_and_confirmed():
    dialog, sink = taker()
    down, _ = await run_test(
        dialog,
        frames_to_send=[
            TakeMessageFrame(reason="caller_asked"),
            *turns("My name is Ann Smith.", "Yes please.", "It's about my order.", "Yes."),
        ],
    )
    assert spoken(down) == [
        S.ask_name,
        S.ask_number_caller_id,
        S.ask_about,
        "Let me read the number back: plus one, five five five, five five five, zero one "
        "zero zero. Is that right?",
        S.done,
    ]
    assert not [f for f in down if isinstance(f, LLMContextFrame)]  # the LLM never asked
    assert sink.messages == [
        TakenMessage(
            name="Ann Smith",
            callback_number=CALLER_ID,
            about="It's about my order.",
            caller_id=CALLER_ID,
            reason="caller_asked",
            confirmed=True,
            taken_at=datetime.fromtimestamp(NOW, UTC),
        )
    ]
    assert dialog.state == "idle"


async def test_another_number_wrong_read_back_is_corrected():
    dialog, sink = taker()
    down, _ = await run_test(
        dialog,
        frames_to_send=[
            TakeMessageFrame(reason="transfer_failed", asked=True),  # the phrase asked
            *turns(
                "Bob",
                "No, call me on 555 123 4567",
                "The invoice",
                "No, that's wrong",
                "five five five, one two three, four five six eight",
                "Yes",
            ),
        ],
    )
    said = spoken(down)
    # No name question (the phrase before asked it); "no" to the caller ID, with digits.
    assert said[:2] == [S.ask_number_caller_id, S.ask_about]
    assert "five five five, one two three, four five six seven" in said[2]
    assert said[3] == S.ask_number_again
    assert "four five six eight" in said[4] and said[5] == S.done
    [message] = sink.messages
    assert (message.name, message.callback_number, message.about) == (
        "Bob",
        "5551234568",
        "The invoice",
    )
    assert message.confirmed and message.reason == "transfer_failed"


async def test_no_caller_id_asks_for_the_number_and_retries_when_none_heard():
    dialog, sink = taker(caller_id=None)
    down, _ = await run_test(
        dialog,
        frames_to_send=[
            TakeMessageFrame(),
            *turns("Carol", "I don't know", "555 987 6543", "a refund", "yes"),
        ],
    )
    said = spoken(down)
    assert said[:4] == [S.ask_name, S.ask_number, S.didnt_catch_number, S.ask_about]
    assert sink.messages[0].callback_number == "5559876543"


async def test_what_the_llm_already_knew_is_not_asked_again():
    dialog, sink = taker()
    down, _ = await run_test(
        dialog,
        frames_to_send=[
            TakeMessageFrame(caller_name="Dave", about="a quote", callback_number="555 222 3333"),
            *turns("yes"),
        ],
    )
    said = spoken(down)
    assert len(said) == 2 and "five five five, two two two, three three three three" in said[0]
    assert sink.messages[0].about == "a quote" and sink.messages[0].confirmed


async def test_offer_yes_starts_taking_and_anything_else_goes_to_the_llm():
    dialog, sink = taker()
    down, _ = await run_test(dialog, frames_to_send=[OfferMessageFrame(), *turns("Yes please")])
    assert spoken(down) == [S.ask_name] and not sink.messages

    dialog, _ = taker()
    [context] = turns("How long is the trial?")
    down, _ = await run_test(dialog, frames_to_send=[OfferMessageFrame(), context])
    assert [f for f in down if isinstance(f, LLMContextFrame)] == [context]
    assert spoken(down) == [] and dialog.state == "idle"


async def test_idle_passes_contexts_to_the_llm():
    dialog, sink = taker()
    frames = turns("What are your hours?")
    down, _ = await run_test(dialog, frames_to_send=frames)
    assert [f for f in down if isinstance(f, LLMContextFrame)] == frames
    assert not sink.messages


async def test_never_mind_cancels():
    dialog, sink = taker()
    down, _ = await run_test(
        dialog, frames_to_send=[TakeMessageFrame(), *turns("Ann", "Actually, never mind")]
    )
    assert spoken(down)[-1] == S.cancelled and not sink.messages and dialog.state == "idle"


async def test_a_call_ending_half_way_keeps_what_was_said_unconfirmed():
    dialog, sink = taker()
    await run_test(dialog, frames_to_send=[TakeMessageFrame(), *turns("Ann", "yes")])
    [message] = sink.messages  # run_test ends the pipeline with an EndFrame
    assert message.name == "Ann" and message.callback_number == CALLER_ID
    assert message.about is None and not message.confirmed


async def test_unclear_answers_end_with_the_message_unconfirmed():
    dialog, sink = taker()
    down, _ = await run_test(
        dialog,
        frames_to_send=[
            TakeMessageFrame(),
            *turns("Ann", "yes", "a delivery", "hmm", "what", "pardon"),
        ],
    )
    said = spoken(down)
    assert said.count(S.unclear) == 2 and said[-1] == S.done
    assert sink.messages[0].about == "a delivery" and not sink.messages[0].confirmed

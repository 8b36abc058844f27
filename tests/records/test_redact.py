"""agent/records/redact.py: what RECORDS_REDACT masks, and what reaches the store with it on."""

from __future__ import annotations

import pytest

from agent.records.redact import redact_event, redact_text, redact_value
from agent.records.store import ExtractionRecord, Store, TransferStarted
from agent.records.writer import RecordWriter
from tests.records.test_store import T0, started, turn


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("call me on 415-555-0132 please", "call me on [phone] please"),
        ("my number is +1 (415) 555 0132.", "my number is [phone]."),
        ("it's five five five, zero one three two, one", "it's [phone]"),
        ("write to ann.lee+work@example.co.uk today", "write to [email] today"),
        ("card 4111 1111 1111 1111 expires soon", "card [card] expires soon"),
        (
            "4111-1111-1111-1112 is not a card but a long number",
            "[number] is not a card but a long number",
        ),
        # Not personal data: prices, years, short numbers, times stay.
        (
            "the plan is $49.99 since 2024, call at 3 pm",
            "the plan is $49.99 since 2024, call at 3 pm",
        ),
        ("order 12345 and room 42", "order 12345 and room 42"),
        ("one or two things", "one or two things"),
    ],
)
def test_what_is_masked_and_what_is_kept(said, stored):
    assert redact_text(said) == stored


def test_every_string_inside_an_extraction_is_masked():
    data = {"name": "Ann", "phone": "415 555 0132", "notes": ["mail ann@example.com"], "n": 3}
    assert redact_value(data) == {
        "name": "Ann",
        "phone": "[phone]",
        "notes": ["mail [email]"],
        "n": 3,
    }


async def test_with_redaction_on_the_store_never_holds_the_numbers(database_url):
    store = await Store.open(database_url)
    writer = RecordWriter(store, redact=redact_event)
    writer.start()
    try:
        writer.enqueue(started("CA1"))
        writer.enqueue(turn("CA1", 0, text="reach me at ann@example.com or 415-555-0132"))
        writer.enqueue(
            ExtractionRecord(
                "CA1", 1, 0, T0, "lead", {"phone": "4155550132", "name": "Ann"}, None, 1
            )
        )
        writer.enqueue(
            TransferStarted("CA1", "sales", "+15550004444", "llm", "caller 415 555 0132", T0)
        )
        assert await writer.flush(10)
        call = await store.get_call("CA1")
    finally:
        await writer.close()
        await store.close()
    assert call["turns"][0]["text"] == "reach me at [email] or [phone]"
    assert call["extraction"] == {"phone": "[phone]", "name": "Ann"}
    assert call["transfers"][0]["reason"] == "caller [phone]"
    assert call["from"] == "+15550001"  # the caller's own number stays in its field
    assert call["transfers"][0]["to"] == "+15550004444"  # the business's destination too

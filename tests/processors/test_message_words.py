"""processors/message_words.py: yes/no, phone numbers said every way, read-back, names."""

from __future__ import annotations

import pytest

from processors.message_words import caller_name, phone_digits, read_back, yes_or_no


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes.", "yes"),
        ("Yeah, that's right", "yes"),
        ("uh huh", "yes"),
        ("No.", "no"),
        ("That's not right", "no"),
        ("yes, no wait, that's wrong", "no"),
        ("It's the fourth of July", None),
        ("", None),
    ],
)
def test_yes_or_no(text, expected):
    assert yes_or_no(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("555-123-4567", "5551234567"),
        ("(555) 123 4567.", "5551234567"),
        ("It's +1 555 123 4567", "+15551234567"),
        ("five five five, one two three, four five six seven", "5551234567"),
        ("five five five one two three four five six oh", "5551234560"),
        ("double five five, one two three, four triple six", "5551234666"),
        ("plus four four, seven nine one one, one two three four five six", "+447911123456"),
        ("call me on 555 one two three 4567", "5551234567"),
        ("Oh, it's five five five one two three four five six seven", "5551234567"),
        ("my name is Ann", None),
        ("one two three", None),  # too short for a phone number
    ],
)
def test_phone_digits(text, expected):
    assert phone_digits(text) == expected


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        ("5551234567", "five five five, one two three, four five six seven"),
        ("+15551234560", "plus one, five five five, one two three, four five six zero"),
        ("+447911123456", "plus four four, seven nine one, one one two, three four five six"),
        ("1234567", "one two three, four five six seven"),
    ],
)
def test_read_back_digit_by_digit_in_groups(number, spoken):
    assert read_back(number) == spoken


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My name is Ann Smith.", "Ann Smith"),
        ("Yeah, it's Bob", "Bob"),
        ("This is Carol from Initech", "Carol from Initech"),
        ("Dave", "Dave"),
    ],
)
def test_caller_name(text, name):
    assert caller_name(text) == name

"""The first-words classifier: voicemail greetings and carrier messages are machines; what
people say when they pick up is a person."""

import pytest

from agent.outbound.voicemail import classify

MACHINES = {
    "Hi, you've reached Ann Smith. Please leave a message after the tone.": "you've reached",
    "You have reached the voicemail of 555 1234.": "you've reached",
    "Sorry I missed you, leave me a message and I'll call back": "leave a message",
    "Please leave your message at the beep.": "leave a message",
    "Record your message after the beep": "after the tone",
    "The person you are calling is not available.": "not available",
    "Ann is unavailable right now": "not available",
    "I can't take your call right now": "can't take the call",
    "The mailbox is full": "mailbox",
    "Welcome to the voice mail system": "mailbox",
    "I'll get back to you as soon as I can": "get back to you",
    "The number you have dialed is not in service": "carrier message",
    "This number is no longer in service": "not in service",
}
PEOPLE = [
    "Hello?",
    "Hi, this is Ann.",
    "Yeah?",
    "Who is this?",
    "Ann speaking, how can I help?",
    "Hello, yes, I'm available now",  # "available" alone is no cue
    "Oh hi, sorry, I was just leaving",
]


@pytest.mark.parametrize(("text", "why"), MACHINES.items())
def test_voicemail_greetings_are_machines_with_their_cue(text, why):
    verdict = classify(text)
    assert (verdict.kind, verdict.why) == ("machine", why)


@pytest.mark.parametrize("text", PEOPLE)
def test_what_people_say_when_they_pick_up_is_a_person(text):
    verdict = classify(text)
    assert (verdict.kind, verdict.why) == ("human", "first words")


def test_no_words_no_verdict():
    assert classify("") is None and classify(" ... ") is None

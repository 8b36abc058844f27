"""The caller's words during message-taking: yes or no, a phone number, a name; and how a
number is read back.

Plain functions, no pipecat: the message-taking dialog (processors/message_taking.py) asks
one question at a time and reads each answer with these.

- `yes_or_no(text)`: "yes", "no" or None (unclear). A negation wins ("yes, no wait" is no).
- `phone_digits(text)`: the digits of a phone number said as digits ("555-123-4567",
  "(555) 123 4567"), as words ("five five five, one two ..."; "oh" is zero; "double five",
  "triple one"), or mixed; "plus" / a leading "+" keeps the international prefix. None when
  fewer than MIN_DIGITS or more than MAX_DIGITS digits were said.
- `read_back(number)`: the number digit by digit in groups, as the receptionist prompt asks
  ("five five five, one two three, four five six seven").
- `caller_name(text)`: the name out of "my name is Ann Smith", "it's Ann", "this is Ann".
"""

from __future__ import annotations

import re

MIN_DIGITS = 7
MAX_DIGITS = 15

_YES = {
    "yes", "yeah", "yep", "yup", "sure", "correct", "right", "ok", "okay", "please",
    "absolutely", "definitely", "exactly", "perfect", "fine", "good", "great", "certainly",
}  # fmt: skip
_NO = {"no", "nope", "nah", "not", "wrong", "incorrect", "don't", "dont", "isn't", "wasn't"}
_NO_PHRASES = ("not right", "that's wrong", "no thanks", "no thank you")
_YES_PHRASES = ("uh huh", "go ahead", "sounds good", "that's it", "that is it", "of course")

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3}
_SPOKEN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_NAME_LEADS = re.compile(
    r"^(?:(?:yes|yeah|sure|ok|okay|hi|hello|well|um|uh)[,.!]?\s+)*"
    r"(?:my name is|my name's|the name is|the name's|name is|this is|it's|it is|i'm|i am|"
    r"call me|you can call me)\s+",
    re.IGNORECASE,
)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def yes_or_no(text: str) -> str | None:
    """ "yes", "no", or None when the words say neither."""
    lowered = " ".join(_words(text))
    if any(p in lowered for p in _NO_PHRASES):
        return "no"
    words = set(lowered.split())
    if words & _NO:
        return "no"
    if words & _YES or any(p in lowered for p in _YES_PHRASES):
        return "yes"
    return None


def phone_digits(text: str) -> str | None:
    """The phone number in `text` as digits (with a leading + when said), else None."""
    tokens = re.findall(r"\+|\d+|[a-zA-Z']+", text)
    digits, plus, repeat = "", False, 1
    for token in tokens:
        lowered = token.lower()
        if token == "+" or lowered == "plus":
            plus = plus or not digits
        elif token.isdigit():
            digits += token[0] * (repeat - 1) + token
            repeat = 1
        elif lowered in _REPEAT:
            repeat = _REPEAT[lowered]
        elif lowered in _DIGIT_WORDS and (lowered not in ("o", "oh") or digits or repeat > 1):
            digits += _DIGIT_WORDS[lowered] * repeat
            repeat = 1
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    return ("+" if plus else "") + digits


def read_back(number: str) -> str:
    """The number spoken digit by digit, grouped: 3-3-4 for the last ten, 3s before."""
    plus = number.startswith("+")
    digits = re.sub(r"\D", "", number)
    if plus and digits.startswith("1") and len(digits) == 11:
        groups = ["1", digits[1:4], digits[4:7], digits[7:]]
    elif len(digits) >= 10:
        head, tail = digits[:-10], digits[-10:]
        groups = [head[i : i + 3] for i in range(0, len(head), 3)] if head else []
        groups += [tail[:3], tail[3:6], tail[6:]]
    elif len(digits) > 4:
        groups = [digits[:-4], digits[-4:]]
    else:
        groups = [digits]
    spoken = [" ".join(_SPOKEN[int(d)] for d in group) for group in groups if group]
    return ("plus " if plus else "") + ", ".join(spoken)


def caller_name(text: str) -> str:
    """The caller's name as they said it, without "my name is" and the like."""
    name = _NAME_LEADS.sub("", text.strip()).strip(" .,!?")
    return name or text.strip(" .,!?")

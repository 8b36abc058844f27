"""Person or answering machine, from the callee's first words: a small deterministic classifier.

`classify(text) -> Verdict("machine" | "human", why)`. A machine is a voicemail greeting or a
carrier's message: "you've reached ...", "leave a message", "after the tone/beep", "is not
available", "mailbox", "can't take your call", "the number you have dialed ...". Anything
else with words is a person ("Hello?", "Ann speaking", "who is this?"). `why` names the cue
that decided, so the call's record says why ("words: after the tone").

Used when Twilio's AMD is off, undecided ("unknown") or has not answered yet
(processors/callee_answer.py). pipecat's VoicemailDetector (pipecat.extensions.voicemail)
asks an LLM the same question with the same cues; a fixed list costs no request and no
latency on every outbound call, and is tested below word for word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Each cue is a regular expression over the normalised text (lower case, plain apostrophes,
# single spaces); the first that matches is the reason.
MACHINE_CUES: tuple[tuple[str, str], ...] = (
    ("you've reached", r"\byou(?:'ve| have) reached\b"),
    (
        "leave a message",
        r"\bleave (?:a|your|me a|us a|a brief|a short) ?(?:brief |short |detailed )?message\b",
    ),
    ("after the tone", r"\b(?:after|at) the (?:tone|beep)\b"),
    ("not available", r"\b(?:not|currently not) available\b|\bunavailable\b"),
    ("can't take the call", r"\b(?:can't|cannot|can not|unable to) (?:take|answer|come to)\b"),
    ("mailbox", r"\b(?:mail ?box|voice ?mail)\b"),
    (
        "record your message",
        r"\brecord your message\b|\bwhen you(?:'ve| have)? finished recording\b",
    ),
    ("get back to you", r"\b(?:get back to you|return your call|call you back as soon)\b"),
    (
        "carrier message",
        r"\bthe (?:number|person|party|subscriber) you (?:have )?(?:dialed|dialled|called|are calling|are trying)\b",
    ),
    ("not in service", r"\b(?:not|no longer) in service\b"),
)
_COMPILED = tuple((why, re.compile(pattern)) for why, pattern in MACHINE_CUES)


@dataclass(frozen=True)
class Verdict:
    kind: str  # "machine" | "human"
    why: str  # the cue, or "first words"


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("`", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def classify(text: str) -> Verdict | None:
    """A verdict on the callee's first words; None when there are no words to judge."""
    words = normalise(text)
    if not words:
        return None
    for why, pattern in _COMPILED:
        if pattern.search(words):
            return Verdict("machine", why)
    return Verdict("human", "first words")

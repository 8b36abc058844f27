"""HeardText: which words of the agent's speech the caller actually heard.

Each utterance's words are placed on its audio timeline (byte offsets into the 8 kHz PCM),
from TTS word timestamps when the TTS gives them, else at the audio position where the word
arrived. Twilio echoes a mark once the audio before it has played; each echo moves the
utterance's "heard up to" position. A word counts as heard when it started before that
position. Marks echoed because of a `clear` move nothing.

Pure bookkeeping, no frames and no clock: the pacer feeds it; tests drive it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Utterance:
    uid: int
    words: list[tuple[int, str]] = field(default_factory=list)  # (start offset, text)
    heard_pos: int = 0
    total_bytes: int = 0

    def heard_text(self) -> str:
        return _join(t for offset, t in self.words if offset < self.heard_pos)

    def spoken_text(self) -> str:
        return _join(t for _, t in self.words)


def _join(words) -> str:
    text = ""
    for word in words:
        # pipecat word frames may or may not carry their own spacing
        if (
            text
            and not text.endswith(" ")
            and not word.startswith((" ", ",", ".", "!", "?", ";", ":"))
        ):
            text += " "
        text += word
    return text.strip()


class HeardText:
    """Tracks the utterances of the current speech run (from bot start to bot stop)."""

    def __init__(self) -> None:
        self._utterances: dict[int, Utterance] = {}
        self._order: list[int] = []

    def start(self, uid: int) -> None:
        if uid not in self._utterances:
            self._utterances[uid] = Utterance(uid)
            self._order.append(uid)

    def add_word(self, uid: int, offset: int, text: str) -> None:
        self.start(uid)
        words = self._utterances[uid].words
        words.append((max(0, offset), text))
        if len(words) > 1 and words[-1][0] < words[-2][0]:
            words.sort(key=lambda w: w[0])

    def add_audio(self, uid: int, nbytes: int) -> None:
        self.start(uid)
        self._utterances[uid].total_bytes += nbytes

    def played(self, uid: int, position: int) -> None:
        utt = self._utterances.get(uid)
        if utt is not None and position > utt.heard_pos:
            utt.heard_pos = position

    def heard(self) -> str:
        return " ".join(t for t in (self._utterances[u].heard_text() for u in self._order) if t)

    def spoken(self) -> str:
        return " ".join(t for t in (self._utterances[u].spoken_text() for u in self._order) if t)

    def fully_heard(self) -> bool:
        return all(u.heard_pos >= u.total_bytes for u in self._utterances.values())

    def reset(self) -> None:
        self._utterances.clear()
        self._order.clear()

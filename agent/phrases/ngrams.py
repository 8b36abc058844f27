"""Word and word-pair features of a caller's words, for the route-or-none classifier.

A static word-vector model averages a sentence into one point, so "put me through to a real
person" (human) lands next to "are you a real person" (who_are_you): the words that decide
the route ("put me through", "are you") weigh no more than the rest. These features give the
classifier (agent/phrases/classifier.py) the words themselves: one dimension per word and per
pair of neighbouring words seen in the routes file's training sentences (examples,
not_examples, negatives), 1 when the caller's words contain it, the vector scaled to unit
length. They are appended to the sentence embedding (with a weight; the nearest-example
match still uses the embedding alone), learnt from the same file when the matcher is built,
so they cost a dictionary look-up per word on the call path.

They are sparse (a sentence has a few dozen of the thousands of grams that ~2,500 training
sentences hold), so the classifier takes them as `GramRows` (index lists) rather than as a
dense matrix: training then costs per step what the embeddings cost, not 15 times more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


def grams(words: str) -> list[str]:
    """The words of `words` (normalised) and their neighbouring pairs."""
    tokens = words.split()
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


@dataclass(frozen=True)
class GramRows:
    """Sparse rows of unit-length binary gram features times a weight: entry j of the
    concatenated `index` is a gram of row `row[j]`, with value `value[j]`."""

    index: np.ndarray  # int: the gram
    row: np.ndarray  # int: the sentence
    value: np.ndarray  # float32
    rows: int
    size: int  # the vocabulary

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """(rows, k): these rows times `weights` (size, k)."""
        return _summed(self.row, weights[self.index] * self.value[:, None], self.rows)

    def tdot(self, grad: np.ndarray) -> np.ndarray:
        """(size, k): these rows transposed times `grad` (rows, k)."""
        return _summed(self.index, grad[self.row] * self.value[:, None], self.size)


def _summed(keys: np.ndarray, per_entry: np.ndarray, length: int) -> np.ndarray:
    """(length, k): each column of `per_entry` summed by `keys`."""
    columns = [
        np.bincount(keys, per_entry[:, c], minlength=length) for c in range(per_entry.shape[1])
    ]
    return np.stack(columns, axis=1).astype(np.float32)


class NgramFeatures:
    """Binary word and word-pair features over a vocabulary learnt from training sentences."""

    def __init__(self, sentences: Iterable[str]) -> None:
        vocabulary = sorted({g for s in sentences for g in grams(s)})
        self._index = {g: i for i, g in enumerate(vocabulary)}

    @property
    def size(self) -> int:
        return len(self._index)

    def vector(self, words: str) -> np.ndarray:
        """Unit-length features of one normalised sentence (zeros if no gram is known)."""
        out = np.zeros(self.size, dtype=np.float32)
        for g in grams(words):
            i = self._index.get(g)
            if i is not None:
                out[i] = 1.0
        norm = float(np.linalg.norm(out))
        return out / norm if norm else out

    def rows(self, sentences: list[str], weight: float = 1.0) -> GramRows:
        """The same features as `matrix`, times `weight`, as sparse rows."""
        index, row, value = [], [], []
        for i, sentence in enumerate(sentences):
            known = sorted({self._index[g] for g in grams(sentence) if g in self._index})
            if known:
                index += known
                row += [i] * len(known)
                value += [weight / np.sqrt(len(known))] * len(known)
        return GramRows(
            np.asarray(index, dtype=np.int64),
            np.asarray(row, dtype=np.int64),
            np.asarray(value, dtype=np.float32),
            len(sentences),
            self.size,
        )

    def matrix(self, sentences: list[str]) -> np.ndarray:
        if not sentences:
            return np.zeros((0, self.size), dtype=np.float32)
        return np.stack([self.vector(s) for s in sentences])

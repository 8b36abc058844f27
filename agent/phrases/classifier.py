"""A small classifier over sentence embeddings: which route, or none of them.

Nearest-example similarity alone answers whatever is close to an example, including a near
miss that shares its words ("can you call me back later" vs "can someone call me back").
This softmax regression learns, from the routes file alone, where each route's examples end
and the sentences that must go to the LLM begin: one class per route plus `none`, trained on
the routes' examples (their class), every route's `not_examples` that is not another route's
example, and the file's `negatives:` (class none).

It is trained when the matcher is built (deterministic: plain gradient descent from zeros, in
float32, with the word features as sparse rows: a few hundred vectors take ~0.1 s, a training
file's ~2,500 about a second), so it can never be stale against the routes file it came from.
Its probability gates the nearest-example match (agent.phrases.intent.RouteMatcher): a
route is answered only if the classifier also picks it, with at least `min_probability`.
"""

from __future__ import annotations

import numpy as np

from agent.phrases.ngrams import GramRows

NONE = "none"


class RouteClassifier:
    """Softmax regression over unit-length embeddings; classes: the routes, then `none`."""

    def __init__(
        self,
        routes: list[str],
        vectors: np.ndarray,
        labels: list[str],
        grams: GramRows | None = None,  # sparse features beside `vectors` (ngrams.py)
        *,
        scale: float = 10.0,  # cosine-scale inputs: a temperature so logits can be decisive
        l2: float = 1e-3,
        steps: int = 400,
        rate: float = 0.5,
    ) -> None:
        self.classes = [*routes, NONE]
        index = {name: i for i, name in enumerate(self.classes)}
        unknown = sorted({label for label in labels if label not in index})
        if unknown:
            raise ValueError(f"labels without a class: {', '.join(unknown)}")
        self._scale = scale
        k, dims = len(self.classes), vectors.shape[1]
        self._weights = np.zeros((dims, k), dtype=np.float32)
        self._gram_weights = np.zeros((grams.size if grams else 0, k), dtype=np.float32)
        self._bias = np.zeros(k, dtype=np.float32)
        if not labels:
            return
        x = vectors.astype(np.float32)
        targets = np.eye(k, dtype=np.float32)[[index[label] for label in labels]]
        # Classes weighted by 1/size, so a long list of negatives does not drown a route.
        counts = targets.sum(axis=0)
        weights = (targets / np.maximum(counts, 1)).sum(axis=1, keepdims=True)
        weights *= len(labels) / weights.sum()
        for _ in range(steps):
            probs = self._softmax(self._logits(x, grams))
            grad = weights * (probs - targets) / len(labels)
            self._weights -= rate * (scale * x.T @ grad + l2 * self._weights)
            if grams is not None:
                self._gram_weights -= rate * (scale * grams.tdot(grad) + l2 * self._gram_weights)
            self._bias -= rate * grad.sum(axis=0)

    def _logits(self, x: np.ndarray, grams: GramRows | None) -> np.ndarray:
        out = x @ self._weights
        if grams is not None:
            out = out + grams.dot(self._gram_weights)
        return self._scale * out + self._bias

    @staticmethod
    def _softmax(logits: np.ndarray) -> np.ndarray:
        logits = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=-1, keepdims=True)

    def probabilities(self, vector: np.ndarray, grams: GramRows | None = None) -> dict[str, float]:
        """Each class's probability for one embedding (and its one row of grams)."""
        probs = self._softmax(self._logits(vector.astype(np.float32)[None, :], grams))[0]
        return dict(zip(self.classes, probs.tolist(), strict=True))

"""A small classifier over sentence embeddings: which route, or none of them.

Nearest-example similarity alone answers whatever is close to an example, including a near
miss that shares its words ("can you call me back later" vs "can someone call me back").
This softmax regression learns, from the routes file alone, where each route's examples end
and the sentences that must go to the LLM begin: one class per route plus `none`, trained on
the routes' examples (their class), every route's `not_examples` that is not another route's
example, and the file's `negatives:` (class none).

It is trained when the matcher is built (a few hundred vectors, ~0.1 s, deterministic: plain
gradient descent from zeros), so it can never be stale against the routes file it came from.
Its probability gates the nearest-example match (agent.phrases.intent.RouteMatcher): a
route is answered only if the classifier also picks it, with at least `min_probability`.
"""

from __future__ import annotations

import numpy as np

NONE = "none"


class RouteClassifier:
    """Softmax regression over unit-length embeddings; classes: the routes, then `none`."""

    def __init__(
        self,
        routes: list[str],
        vectors: np.ndarray,
        labels: list[str],
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
        self._weights = np.zeros((dims, k), dtype=np.float64)
        self._bias = np.zeros(k, dtype=np.float64)
        if not labels:
            return
        x = vectors.astype(np.float64)
        targets = np.eye(k)[[index[label] for label in labels]]
        # Classes weighted by 1/size, so a long list of negatives does not drown a route.
        counts = targets.sum(axis=0)
        weights = (targets / np.maximum(counts, 1)).sum(axis=1, keepdims=True)
        weights *= len(labels) / weights.sum()
        for _ in range(steps):
            probs = self._softmax(scale * (x @ self._weights) + self._bias)
            grad = weights * (probs - targets) / len(labels)
            self._weights -= rate * (scale * x.T @ grad + l2 * self._weights)
            self._bias -= rate * grad.sum(axis=0)

    @staticmethod
    def _softmax(logits: np.ndarray) -> np.ndarray:
        logits = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=-1, keepdims=True)

    def probabilities(self, vector: np.ndarray) -> dict[str, float]:
        """Each class's probability for one embedding."""
        probs = self._softmax(
            self._scale * (vector.astype(np.float64) @ self._weights) + self._bias
        )
        return dict(zip(self.classes, probs.tolist(), strict=True))

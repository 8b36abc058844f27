"""Matching a caller's words to a route: sentence embeddings, cosine similarity, a classifier.

    encoder = load_encoder("minilm", shared)           # once per process
    matcher = RouteMatcher(routes_file.routes, encoder, threshold=0.55,
                           negatives=routes_file.negatives, min_probability=0.8)
    matcher.match("How much is it?")                    # -> RouteScore(route="pricing", ...) | None

An `Encoder` turns texts into unit-length vectors; `ENCODERS` maps the names a graph may
give (`encoder:` on the intent_router node) to factories, so another model can be added
without touching the router. `minilm` (agent/phrases/minilm.py: all-MiniLM-L6-v2, int8 ONNX,
~5 ms a sentence) reads words in context; `minilm-int8` is the same model with int8 matrix
kernels (agent/phrases/minilm_int8.py, converted by `audio build`, ~3 ms); `wordllama` (the
node's default: l2_supercat, 256 dims, a token embedding table with average pooling, weights
inside its wheel, ~0.05 ms) does not. `a+b` puts two encoders' vectors side by side
(ConcatEncoder, round five). The shipped graphs' choice and its numbers:
docs/decisions/router-encoder.md. All run on the event loop.

A route's score is the best cosine similarity between the caller's words and any of its
examples; the best-scoring route wins if it reaches its threshold (the route's own, else
the node's), the words are not at least as close to one of the route's `not_examples`
(near misses such as "call me back" for a "stop calling me" route), and, when the node sets
`min_probability`, the route-or-none classifier (agent/phrases/classifier.py, trained here
from the routes file) gives the route at least that. With `ngram_weight` the classifier also
sees the sentence's words and word pairs (agent/phrases/ngrams.py), and with
`rank_by_classifier` it picks the route (which must still pass the rest). Texts are normalised first (lower case,
no punctuation, openers such as "um, okay so" dropped), since transcripts come with
Deepgram's capitals, punctuation and fillers and examples are written without.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from agent.graph.build import ProcessCache
from agent.phrases.classifier import NONE, RouteClassifier
from agent.phrases.minilm import MiniLMEncoder
from agent.phrases.minilm_int8 import MiniLMInt8Encoder
from agent.phrases.ngrams import NgramFeatures
from agent.phrases.routes import Route


class Encoder(Protocol):
    """Texts to L2-normalised embeddings, one row per text."""

    name: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


class WordLlamaEncoder:
    """WordLlama l2_supercat 256-d, loaded from the weights inside its wheel (offline)."""

    name = "wordllama"

    def __init__(self) -> None:
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        import wordllama
        from wordllama import WordLlama

        # wordllama calls logging.basicConfig(level=INFO) on import; undo that so other
        # libraries' INFO records do not start appearing on stderr next to our logs.
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        folder = wordllama.__file__.rsplit("/", 1)[0]
        self._model = WordLlama.load(cache_dir=folder, disable_download=True)

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.embed(list(texts), norm=True), dtype=np.float32)


class ConcatEncoder:
    """Several encoders' unit vectors side by side, scaled so the whole is unit length: its
    cosine is the mean of theirs. `minilm+wordllama` (round five): MiniLM reads words in
    context, WordLlama's vectors keep the words themselves; together they generalise better
    on the development sets than either (docs/decisions/router-encoder.md), for WordLlama's
    extra ~0.1 ms."""

    def __init__(self, encoders: Sequence[Encoder]) -> None:
        self.encoders = list(encoders)
        self.name = "+".join(e.name for e in self.encoders)

    def embed(self, texts: list[str]) -> np.ndarray:
        parts = [e.embed(texts) for e in self.encoders]
        return (np.hstack(parts) / np.sqrt(len(parts))).astype(np.float32)


ENCODERS: dict[str, Callable[[], Encoder]] = {
    "wordllama": WordLlamaEncoder,
    "minilm": MiniLMEncoder,  # agent/phrases/minilm.py: a sentence encoder, int8 ONNX
    # The same MiniLM with int8 matrix kernels: the file `audio build` converts next to the
    # routes file (agent/phrases/minilm_int8.py); load_encoder needs that folder.
    "minilm-int8": MiniLMInt8Encoder,
}


def load_encoder(
    name: str, shared: ProcessCache | None = None, folder: Path | None = None
) -> Encoder:
    """The named encoder, built once per process when `shared` (BuildContext.shared) is given.
    `a+b` is ConcatEncoder over `a` and `b` (each shared as itself); `folder`: where `audio
    build` put the files of an encoder that needs one (minilm-int8)."""
    if "+" in name:
        return ConcatEncoder([load_encoder(part, shared, folder) for part in name.split("+")])
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; known: {', '.join(sorted(ENCODERS))}")
    factory = ENCODERS[name]
    if name == "minilm-int8":
        factory = functools.partial(MiniLMInt8Encoder, folder)
    if shared is None:
        return factory()
    key = ("intent", "encoder", name) + ((str(folder),) if name == "minilm-int8" else ())
    return shared.get_or_create(key, factory)


_PUNCTUATION = re.compile(r"[^\w\s']+")


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed: how examples are written."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


# What callers put before the question ("Um, okay so, how much is it?"): it carries no intent
# and only dilutes a sentence's vector. Dropped from the front of a turn (never all of it).
_OPENERS = re.compile(
    r"^(?:(?:um+|uh+|erm|er|hm+|oh|so|okay|ok|yeah|yes|well|right|and|look|just|sorry|"
    r"hi there|hi|hey|hello|hang on|hold on|wait|quick question)\b\s*)+"
)


def strip_openers(words: str) -> str:
    """`words` (normalised) without the fillers and greetings a turn starts with."""
    rest = _OPENERS.sub("", words)
    return rest or words


@dataclass(frozen=True)
class RouteScore:
    """How close the caller's words are to one route, and what that route needs."""

    route: str
    score: float  # best similarity to one of the route's examples
    threshold: float
    example: str  # that example
    guard: float = 0.0  # best similarity to one of its not_examples (0 without any)
    near_miss: str = ""  # that not_example
    probability: float = 1.0  # the classifier's probability of this route (1 without one)
    min_probability: float = 0.0

    @property
    def passes(self) -> bool:
        """At or above the threshold, closer to an example than to every near miss, and (with
        a classifier) at least its minimum probability (above 0.5: the classifier's choice)."""
        return (
            self.score >= self.threshold
            and self.score > self.guard
            and self.probability >= self.min_probability
        )


class RouteMatcher:
    """Routes' examples embedded once; `scores`/`match` embed one text per call."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        encoder: Encoder,
        threshold: float = 0.6,
        *,
        negatives: Sequence[str] = (),
        min_probability: float | None = None,
        ngram_weight: float = 0.0,
        rank_by_classifier: bool = False,
        classifier_scale: float = 10.0,
        negatives_guard: bool = False,
    ):
        self.encoder = encoder
        self.threshold = threshold
        self.min_probability = min_probability
        self._routes = list(routes)
        self._thresholds = {
            name: route.threshold if route.threshold is not None else threshold
            for name, route in routes.items()
        }
        # One row per example: (route, text, is a near miss)
        self._rows: list[tuple[str, str, bool]] = [
            (name, text, negative)
            for name, route in routes.items()
            for negative, texts in ((False, route.examples), (True, route.not_examples))
            for text in texts
        ]
        # Per route, its example rows and its not_example rows (scores() takes the closest
        # of each with numpy: a trained matcher has ~1,800 rows, a Python loop ~0.5 ms).
        self._row_groups = {
            name: tuple(
                np.asarray(
                    [i for i, (r, _, neg) in enumerate(self._rows) if r == name and neg == kind],
                    dtype=np.int64,
                )
                for kind in (False, True)
            )
            for name in routes
        }
        self._matrix = (
            encoder.embed([strip_openers(normalise(text)) for _, text, _ in self._rows])
            if self._rows
            else np.zeros((0, 1), dtype=np.float32)
        )
        self.classifier: RouteClassifier | None = None
        self.ngram_weight = ngram_weight
        self.rank_by_classifier = rank_by_classifier
        self.classifier_scale = classifier_scale
        self._ngrams: NgramFeatures | None = None
        # The negatives that are no route's example, embedded once: the classifier learns
        # them as none; with the guard, each also guards every route as its not_examples do
        # (round six: a route then never answers words closer to a near miss of the training
        # file than to any of its examples).
        wanted = min_probability is not None or negatives_guard
        embedded = self._embedded_negatives(negatives) if wanted else None
        self._negatives = embedded if negatives_guard else None
        if min_probability is not None:
            self.classifier = self._train(routes, embedded)

    def _embedded_negatives(self, negatives: Sequence[str]) -> tuple[list[str], np.ndarray] | None:
        """(texts, vectors) of the negatives that are no route's example; None without any."""
        examples = {normalise(t) for _, t, negative in self._rows if not negative}
        texts = [strip_openers(normalise(t)) for t in negatives if normalise(t) not in examples]
        return (texts, self.encoder.embed(texts)) if texts else None

    def _train(
        self, routes: Mapping[str, Route], negatives: tuple[list[str], np.ndarray] | None
    ) -> RouteClassifier:
        """The route-or-none classifier, from the examples and the negatives, both embedded."""
        examples = {normalise(t) for _, t, negative in self._rows if not negative}
        keep = [
            i
            for i, (_, text, negative) in enumerate(self._rows)
            if not negative or normalise(text) not in examples
        ]
        labels = [NONE if self._rows[i][2] else self._rows[i][0] for i in keep]
        vectors = self._matrix[keep] if keep else np.zeros((0, 1), dtype=np.float32)
        others: list[str] = []
        if negatives is not None:
            others, embedded = negatives
            vectors = np.vstack([vectors, embedded]) if keep else embedded
            labels += [NONE] * len(others)
        grams = None
        if self.ngram_weight > 0:
            words = [strip_openers(normalise(self._rows[i][1])) for i in keep] + others
            self._ngrams = NgramFeatures(words)
            vectors = vectors * (1 - self.ngram_weight)
            grams = self._ngrams.rows(words, self.ngram_weight)
        return RouteClassifier(list(routes), vectors, labels, grams, scale=self.classifier_scale)

    def _probabilities(self, vector: np.ndarray, words: str) -> dict[str, float]:
        """The classifier's probabilities for one sentence: its embedding, and with n-grams
        (agent/phrases/ngrams.py) the weighted embedding beside the weighted gram features."""
        if self._ngrams is None:
            return self.classifier.probabilities(vector)
        return self.classifier.probabilities(
            vector * (1 - self.ngram_weight), self._ngrams.rows([words], self.ngram_weight)
        )

    @property
    def routes(self) -> list[str]:
        return list(self._routes)

    def scores(self, text: str) -> list[RouteScore]:
        """Every route's score for `text`, best first."""
        words = strip_openers(normalise(text))
        best: dict[str, tuple[float, str]] = {r: (0.0, "") for r in self._routes}
        guard: dict[str, tuple[float, str]] = {r: (0.0, "") for r in self._routes}
        probability: dict[str, float] = {}
        if words and self._rows:
            vector = self.encoder.embed([words])[0]
            sims = self._matrix @ vector
            if self.classifier is not None:
                probability = self._probabilities(vector, words)
            for route, (examples, near_misses) in self._row_groups.items():
                for table, rows in ((best, examples), (guard, near_misses)):
                    if len(rows):  # the first of the closest, as a row-by-row scan keeps
                        k = int(rows[int(sims[rows].argmax())])
                        table[route] = (float(sims[k]), self._rows[k][1])
            if self._negatives is not None:
                texts, matrix = self._negatives
                near = matrix @ vector
                j = int(near.argmax())
                for route in self._routes:
                    if near[j] > guard[route][0]:
                        guard[route] = (float(near[j]), texts[j])
        ranked = [
            RouteScore(
                r,
                best[r][0],
                self._thresholds[r],
                best[r][1],
                guard[r][0],
                guard[r][1],
                probability=probability.get(r, 1.0 if self.classifier is None else 0.0),
                min_probability=self.min_probability or 0.0,
            )
            for r in self._routes
        ]
        if self.classifier is not None and self.rank_by_classifier:
            # The classifier picks the route (it has seen the near misses and, with n-grams,
            # the deciding words); the nearest example still has to clear the threshold.
            return sorted(ranked, key=lambda s: (-s.probability, -s.score))
        return sorted(ranked, key=lambda s: -s.score)

    def match(self, text: str) -> RouteScore | None:
        """The best-scoring route if it passes (threshold, near misses), else None."""
        ranked = self.scores(text)
        if ranked and ranked[0].passes:
            return ranked[0]
        return None


def shared_matcher(
    shared: ProcessCache, key: Hashable, build: Callable[[], RouteMatcher]
) -> RouteMatcher:
    """One matcher per (routes file, encoder, threshold) per process."""
    return shared.get_or_create(("intent", "matcher", key), build)

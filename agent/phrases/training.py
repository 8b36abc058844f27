"""More sentences for the router to learn from: a training file beside the routes file.

    match:                     # route -> callers' paraphrases (examples of that route)
      pricing: [what's this gonna run me, ...]
    no_match: [call me back later, ...]   # near misses no route may answer (negatives)

The routes file's examples are a few dozen plain questions per route; the paraphrases callers
actually say (idioms, restarts, fillers) and the near misses beside them are what the
route-or-none classifier needs most (docs/decisions/router-encoder.md, round five). This file
has the format of the bench's sentence sets, so those sets can be used as training data
(audio_cache/router_training.yaml is the development sets of rounds one to four, gathered by
`python -m bench.router_training`). An intent_router node opts in with `training:`; the
sentences are added to its routes' examples and to the negatives when the matcher is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.phrases.routes import Route, RoutesError


class TrainingFile(BaseModel):
    """Paraphrases per route and near misses."""

    model_config = ConfigDict(extra="forbid")

    match: dict[str, list[str]] = Field(default_factory=dict)
    no_match: list[str] = Field(default_factory=list)


def load_training(path: str | Path, routes: Sequence[str]) -> TrainingFile:
    """Read a training file; RoutesError if it is unreadable or names a route not in `routes`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        training = TrainingFile.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise RoutesError(f"{path}: not a training file ({exc})") from None
    unknown = sorted(set(training.match) - set(routes))
    if unknown:
        raise RoutesError(f"{path}: match: no such route: {', '.join(unknown)}")
    return training


def with_training(
    routes: Mapping[str, Route], negatives: Sequence[str], training: TrainingFile | None
) -> tuple[dict[str, Route], list[str]]:
    """`routes` with the training paraphrases appended to their examples, and `negatives`
    with its near misses (a route not in `routes`, e.g. an inactive transfer, gets none)."""
    if training is None:
        return dict(routes), list(negatives)
    more = {
        name: route.model_copy(
            update={"examples": [*route.examples, *(training.match.get(name) or [])]}
        )
        for name, route in routes.items()
    }
    return more, [*negatives, *training.no_match]

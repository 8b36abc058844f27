"""The routes file (audio_cache/routes.yaml): caller intents answered without the LLM.

    source_voice: piper-joe          # who recorded the WAVs in source/ (for the manifest)
    routes:
      pricing:
        examples: [how much does it cost, what are your prices]
        not_examples: [how much is shipping]   # optional near misses that must not match
        say: "Our plans start at ..."  # the phrase played (pre-rendered in audio_cache/)
        action: none                  # none | hang_up | do_not_call | transfer | take_message | offer_message
        destination: front_desk       # for transfer: a name under the graph's `transfer:`
        threshold: 0.7                # optional; else the router node's threshold
    negatives: [what are your opening hours]   # optional: no route may answer these
    phrases:                          # other phrases to pre-render (greeting, goodbye, ...)
      greeting: "Thanks for calling Acme. How can I help?"

Every route's `say` and every entry of `phrases` is a phrase, named by its key: the cache
holds it as `<name>.ulaw`. Names are lower_snake_case and unique across both sections.
Plain pydantic and YAML: no pipecat, no model (the CLI, the build command and tests load it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.errors import SwitchboardError
from agent.graph.yamlfile import read_yaml

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class RoutesError(SwitchboardError):
    """The routes file is missing or invalid (the message names the file and the place)."""


class Route(BaseModel):
    """One intent: what callers say, what the agent answers, what happens next."""

    model_config = ConfigDict(extra="forbid")

    examples: list[str] = Field(min_length=1, description="Things callers say for this intent.")
    not_examples: list[str] = Field(
        default_factory=list,
        description="Near misses: similar words, another intent. A caller closer to one of "
        "these than to every example does not get this route.",
    )
    say: str = Field(min_length=1, description="The phrase played when the route wins.")
    action: Literal[
        "none", "hang_up", "transfer", "take_message", "offer_message", "do_not_call"
    ] = Field(
        "none",
        description="After the phrase: nothing; end the call; put the number on the "
        "do-not-call list and end the call (do_not_call); put the caller through to "
        "`destination` (a transfer route is off in a graph where that destination is not set); "
        "take a message (the phrase asks for the caller's name); or, when the phrase offers to "
        "take one, a yes to it starts message-taking (the graph needs a messages: section for "
        "the last two).",
    )
    destination: str | None = Field(
        None, description="For action transfer: a destination under the graph's `transfer:`."
    )
    threshold: float | None = Field(
        None, gt=0, le=1, description="Cosine similarity needed; default: the node's threshold."
    )

    @model_validator(mode="after")
    def _destination(self) -> Route:
        if self.action == "transfer" and not self.destination:
            raise ValueError("action transfer needs a `destination`")
        if self.destination and self.action != "transfer":
            raise ValueError("`destination` is only for action transfer")
        return self

    @field_validator("examples", "not_examples")
    @classmethod
    def _no_blank_examples(cls, examples: list[str]) -> list[str]:
        if any(not e.strip() for e in examples):
            raise ValueError("examples must not be blank")
        return examples


class RoutesFile(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    source_voice: str = Field(
        "unknown", min_length=1, description="Voice of the WAVs in source/ (manifest label)."
    )
    routes: dict[str, Route] = Field(default_factory=dict)
    negatives: list[str] = Field(
        default_factory=list,
        description="Sentences no route may answer (they go to the LLM): the `none` class of "
        "the router's classifier (agent/phrases/classifier.py), beside every route's "
        "not_examples.",
    )
    phrases: dict[str, str] = Field(default_factory=dict)

    @field_validator("negatives")
    @classmethod
    def _no_blank_negatives(cls, negatives: list[str]) -> list[str]:
        if any(not n.strip() for n in negatives):
            raise ValueError("negatives must not be blank")
        return negatives

    @model_validator(mode="after")
    def _names(self) -> RoutesFile:
        for name in [*self.routes, *self.phrases]:
            if not NAME.match(name):
                raise ValueError(f"name {name!r} must be lower_snake_case")
        clash = sorted(set(self.routes) & set(self.phrases))
        if clash:
            raise ValueError(f"{', '.join(clash)}: used both as a route and a phrase name")
        blank = sorted(n for n, text in self.phrases.items() if not text.strip())
        if blank:
            raise ValueError(f"phrases {', '.join(blank)}: empty text")
        return self

    def all_phrases(self) -> dict[str, str]:
        """Every phrase to pre-render, name -> text: the routes' answers, then `phrases`."""
        return {**{name: r.say for name, r in self.routes.items()}, **self.phrases}


def load_routes(path: str | Path) -> RoutesFile:
    """Read and validate a routes file; RoutesError says what is wrong and where."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RoutesError(f"{path}: cannot read the routes file ({exc.strerror or exc})") from None
    data, problem = read_yaml(text)
    if problem:
        (where, message) = problem
        raise RoutesError(f"{path}: {' '.join(where)} {message}".replace("  ", " "))
    try:
        return RoutesFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            lines.append(
                f"{path}: error {location}: {message}" if location else f"{path}: {message}"
            )
        raise RoutesError("\n".join(lines)) from None

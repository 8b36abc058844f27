"""The audio cache: pre-rendered phrases, their manifest, and what is fresh.

    audio_cache/
      routes.yaml        the routes and phrases (agent.phrases.routes)
      <name>.ulaw        each phrase: raw G.711 mu-law, 8 kHz, mono, no header
      manifest.json      per phrase: the key it was rendered for, the file's sha256 and length
      source/<name>.wav  optional recordings; when present they are the phrase's audio

A phrase's *key* says what its audio must have been made from. With a WAV in source/ it is
the text, the source voice label (routes.yaml `source_voice`, shown as `source:<label>`) and
the WAV's sha256; otherwise the text and the graph's TTS: node type (provider), voice and
settings (model, language, speed, rate). An entry is fresh when the manifest holds the same
key and the .ulaw file still has the recorded sha256; else it is missing or stale, and
`python -m agent audio build` renders it again. `entry_states` is the one rule, used by the
build command, `--check` and the call-time `PhraseBook` alike.

`PhraseBook` is what calls use: every fresh phrase decoded to 8 kHz PCM16 in memory, loaded
once per process (`shared_phrase_book`), so playing one reads no file. A missing or stale
phrase is not in it (a warning is logged at load); callers then fall back to live TTS.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from agent.audio import ulaw_to_pcm16
from agent.graph.build import ProcessCache
from agent.phrases.routes import RoutesFile, load_routes

MANIFEST = "manifest.json"
SOURCE_DIR = "source"
FORMAT = 1


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Voice:
    """How phrases are rendered when they have no source WAV: a graph's TTS node."""

    provider: str  # the node type, e.g. "cartesia_tts"
    voice: str
    settings: tuple[tuple[str, Any], ...] = ()  # sorted (name, value) pairs

    def key(self) -> dict:
        return {"provider": self.provider, "voice": self.voice, "settings": dict(self.settings)}

    def label(self) -> str:
        return f"{self.provider}:{self.voice}"


def voice_of_graph(graph, config) -> Voice | None:
    """The graph's text-to-speech node (reads llm.text, produces audio.out) as a Voice."""
    for node in graph.chain_nodes():
        if {"llm.text"} <= node.type.consumes and "audio.out" in node.type.produces:
            params = node.params.model_dump()
            voice = params.pop("voice", None)
            if voice is None and node.type.name == "cartesia_tts":
                voice = config.cartesia_voice_id
            return Voice(node.type.name, str(voice or ""), tuple(sorted(params.items())))
    return None


@dataclass(frozen=True)
class EntryState:
    """One phrase: fresh, missing or stale, and why."""

    name: str
    text: str
    state: str  # "fresh" | "missing" | "stale"
    reason: str
    key: dict | None  # what it must be rendered for (None: no source WAV and no TTS)
    source: Path | None  # the WAV it comes from, if any

    @property
    def fresh(self) -> bool:
        return self.state == "fresh"


def read_manifest(cache_dir: Path) -> dict:
    path = cache_dir / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": FORMAT, "entries": {}}
    except (OSError, ValueError) as exc:
        logger.warning(f"{path}: unreadable manifest ({exc}); every phrase counts as missing")
        return {"format": FORMAT, "entries": {}}
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        return {"format": FORMAT, "entries": {}}
    return data


def write_manifest(cache_dir: Path, manifest: dict) -> None:
    """Written to a temporary file, then renamed: a reader never sees half a manifest."""
    entries = dict(sorted(manifest["entries"].items()))
    text = json.dumps({"format": FORMAT, "entries": entries}, indent=2, sort_keys=False) + "\n"
    write_atomic(cache_dir / MANIFEST, text.encode())


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def expected_key(
    name: str, text: str, cache_dir: Path, voice: Voice | None, source_voice: str
) -> tuple[dict | None, Path | None]:
    """The key phrase `name` must be rendered for, and its source WAV if it has one."""
    source = cache_dir / SOURCE_DIR / f"{name}.wav"
    if source.is_file():
        key = {"text": text, "provider": "source", "voice": source_voice}
        return key | {"source_sha256": sha256_of(source)}, source
    if voice is None:
        return None, None
    return {"text": text, **voice.key()}, None


def describe_key(key: dict) -> str:
    if key.get("provider") == "source":
        return f"source:{key.get('voice')}"
    return f"{key.get('provider')}:{key.get('voice')}"


def _why_stale(old: dict, new: dict) -> str:
    if old.get("text") != new.get("text"):
        return f"text changed (was {old.get('text')!r})"
    if describe_key(old) != describe_key(new):
        return f"voice changed (was {describe_key(old)})"
    changed = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
    return f"{', '.join(changed)} changed"


def entry_states(routes: RoutesFile, cache_dir: Path, voice: Voice | None) -> list[EntryState]:
    """Every phrase of the routes file, fresh or not, in the file's order."""
    entries = read_manifest(cache_dir)["entries"]
    states = []
    for name, text in routes.all_phrases().items():
        key, source = expected_key(name, text, cache_dir, voice, routes.source_voice)
        entry = entries.get(name)
        audio = cache_dir / f"{name}.ulaw"

        def state(kind: str, reason: str, key=key, source=source, name=name, text=text):
            return EntryState(name, text, kind, reason, key, source)

        if key is None:
            states.append(state("missing", "no source WAV and the graph has no TTS node"))
        elif not isinstance(entry, dict) or not audio.is_file():
            states.append(state("missing", f"no {audio.name}" if entry else "not in the manifest"))
        elif entry.get("key") != key:
            states.append(state("stale", _why_stale(entry.get("key") or {}, key)))
        elif sha256_of(audio) != entry.get("sha256"):
            states.append(state("stale", f"{audio.name} changed since it was rendered"))
        else:
            states.append(state("fresh", "", key))
    return states


def manifest_entry(key: dict, ulaw: bytes, name: str) -> dict:
    return {
        "key": key,
        "file": f"{name}.ulaw",
        "sha256": hashlib.sha256(ulaw).hexdigest(),
        "bytes": len(ulaw),
        "seconds": round(len(ulaw) / 8000, 3),
    }


@dataclass
class PhraseBook:
    """Fresh phrases as 8 kHz PCM16, in memory; texts of every phrase; why others are not."""

    pcm: dict[str, bytes] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    voice: str = ""
    _by_text: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_text = {text: name for name, text in self.texts.items() if name in self.pcm}

    def audio(self, name: str) -> bytes | None:
        """PCM16 of phrase `name`, or None when it is missing or stale."""
        return self.pcm.get(name)

    def audio_for_text(self, text: str) -> bytes | None:
        """PCM16 of the fresh phrase with exactly this text, if any."""
        name = self._by_text.get(text)
        return self.pcm.get(name) if name else None


def load_phrase_book(routes: RoutesFile, cache_dir: Path, voice: Voice | None) -> PhraseBook:
    """Read every fresh phrase into memory; warn about the others (they fall back to TTS)."""
    pcm, problems = {}, {}
    for entry in entry_states(routes, cache_dir, voice):
        if entry.fresh:
            pcm[entry.name] = ulaw_to_pcm16((cache_dir / f"{entry.name}.ulaw").read_bytes())
        else:
            problems[entry.name] = f"{entry.state}: {entry.reason}"
            logger.warning(
                f"audio cache {cache_dir}: phrase '{entry.name}' is {entry.state} "
                f"({entry.reason}); it will be spoken by live TTS. "
                "Run `python -m agent audio build` to render it."
            )
    label = voice.label() if voice else ""
    return PhraseBook(pcm=pcm, texts=routes.all_phrases(), problems=problems, voice=label)


def shared_routes(shared: ProcessCache, path: Path) -> RoutesFile:
    """The routes file at `path`, read once per process."""
    return shared.get_or_create(("audio_cache", "routes", str(path)), lambda: load_routes(path))


def shared_phrase_book(shared: ProcessCache, routes_path: Path, voice: Voice | None) -> PhraseBook:
    """The phrase book of a routes file for a voice, loaded once per process."""
    return shared.get_or_create(
        ("audio_cache", "phrases", str(routes_path), voice),
        lambda: load_phrase_book(shared_routes(shared, routes_path), routes_path.parent, voice),
    )

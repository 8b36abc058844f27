"""`python -m agent audio build [--graph NAME] [--check]`: render the audio cache.

For the graph's `intent_router` node, every phrase of its routes file (route answers and
`phrases:`) becomes `<name>.ulaw` next to the routes file, with its manifest entry
(agent/phrases/cache.py says what fresh means). A phrase with a WAV in `source/` is converted
from it (any rate: resampled with soxr; mono 8 kHz mu-law); any other is spoken by the
graph's own TTS node, the real pipecat service at its configured base URL (in tests, the
Cartesia fake), and converted the same way. Fresh phrases are skipped, so a second run does
nothing; a changed text, voice or source WAV makes its phrase stale and it is rendered again.

`--check` renders nothing: it lists missing and stale phrases and exits 1 if there are any
(CI can run it). Exit codes: 0 done / all fresh, 1 something to render (check) or a render
failed, 2 a bad graph, setting or routes file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from agent.audio import pcm16_rate_to_ulaw, wav_to_ulaw
from agent.errors import SwitchboardError
from agent.graph.validate import display_path
from agent.phrases.cache import (
    EntryState,
    describe_key,
    entry_states,
    manifest_entry,
    read_manifest,
    voice_of_graph,
    write_atomic,
    write_manifest,
)
from agent.phrases.routes import load_routes


def router_encoder(graph) -> str:
    """The encoder name of the graph's intent_router node ("" without one)."""
    for node in graph.chain_nodes():
        if node.type.name == "intent_router":
            return node.params.encoder
    return ""


def _int8_model(graph, cache_dir: Path, check: bool, out: TextIO, err: TextIO) -> int:
    """The minilm-int8 encoder's converted file next to the routes file (agent/phrases/
    minilm_int8.py), when the graph's router uses it: converted if missing (listed with
    `check`). 0 fine, 1 missing (check) or the conversion failed."""
    if "minilm-int8" not in router_encoder(graph).split("+"):
        return 0
    from agent.phrases.minilm_int8 import convert, int8_path

    path = int8_path(cache_dir)
    if path.is_file():
        return 0
    if check:
        print(f"missing {path.name}: the minilm-int8 encoder's model (converted by audio build)",
              file=out)  # fmt: skip
        return 1
    try:
        convert(path)
    except ImportError as exc:
        print(f"cannot convert {path.name}: {exc} (onnx and onnx-ir: pip install -e .)", file=err)
        return 1
    print(f"converted {display_path(path)} (MiniLM with int8 kernels)", file=out)
    return 0


def router_routes_path(graph) -> Path:
    """The routes file of the graph's intent_router node; ValueError if it has none."""
    for node in graph.chain_nodes():
        if node.type.name == "intent_router":
            return graph.resolve_path(node.params.routes).resolve()
    raise ValueError(f"graph '{graph.name}' has no intent_router node: it caches no phrases")


async def _start_renderer(graph, config):
    """The graph's TTS node, running (a missing key or an unreachable TTS raises)."""
    # Lazily: pipecat (the graph's TTS) only when a phrase must be rendered; `--check` and a
    # cache with every phrase fresh load none of it.
    from agent.phrases.render import TTSRenderer

    renderer = TTSRenderer(graph, config)
    try:
        await renderer.start()
    except BaseException:
        await renderer.stop()
        raise
    return renderer


def _progress(total: int, out: TextIO):
    from tqdm import tqdm

    return tqdm(total=total, desc="audio build", unit="phrase", file=out, leave=True)


async def build(
    graph, config, *, check: bool = False, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Render (or, with `check`, list) every missing or stale phrase; returns the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        routes_path = router_routes_path(graph)
        routes = load_routes(routes_path)
    except (ValueError, SwitchboardError) as exc:
        print(exc, file=err)
        return 2
    cache_dir = routes_path.parent
    voice = voice_of_graph(graph, config)
    states = entry_states(routes, cache_dir, voice)
    todo = [s for s in states if not s.fresh]
    model = _int8_model(graph, cache_dir, check, out, err)
    if check:
        if model and not todo:
            return 1
        for state in todo:
            print(f"{state.state} {state.name}: {state.reason}", file=out)
        if todo:
            print(
                f"{len(todo)} of {len(states)} phrases in {display_path(cache_dir)} "
                "need rendering: "
                f"run python -m agent audio build --graph {graph.name}",
                file=out,
            )
            return 1
        print(f"{display_path(cache_dir)}: all {len(states)} phrases fresh", file=out)
        return 0
    return await _render_all(graph, config, cache_dir, states, out, err) or model


async def _render_all(graph, config, cache_dir: Path, states: list[EntryState], out, err) -> int:
    manifest = read_manifest(cache_dir)
    renderer = None
    tts_problem = ""
    done: dict[str, int] = {"source": 0, "tts": 0, "fresh": 0}
    failed = 0
    bar = _progress(len(states), err)
    try:
        for state in states:
            bar.set_postfix_str(state.name)
            if state.fresh:
                done["fresh"] += 1
                bar.update()
                continue
            if state.key is None:
                bar.write(f"cannot render {state.name}: {state.reason}", file=err)
                failed += 1
                bar.update()
                continue
            try:
                if state.source is not None:
                    ulaw = wav_to_ulaw(state.source)
                    done["source"] += 1
                else:
                    if tts_problem:
                        raise SwitchboardError(tts_problem)
                    if renderer is None:
                        try:
                            renderer = await _start_renderer(graph, config)
                        except (SwitchboardError, OSError) as exc:
                            tts_problem = f"cannot start the TTS: {exc}"
                            raise SwitchboardError(tts_problem) from None
                    try:
                        pcm, rate = await renderer.render(state.text)
                    except SwitchboardError:
                        # A fresh pipeline for the next phrase: the failed one may still
                        # report errors about this one.
                        await renderer.stop()
                        renderer = None
                        raise
                    ulaw = pcm16_rate_to_ulaw(pcm, rate)
                    done["tts"] += 1
            except (SwitchboardError, OSError, ValueError) as exc:
                bar.write(f"cannot render {state.name}: {exc}", file=err)
                failed += 1
                bar.update()
                continue
            write_atomic(cache_dir / f"{state.name}.ulaw", ulaw)
            manifest["entries"][state.name] = manifest_entry(state.key, ulaw, state.name)
            write_manifest(cache_dir, manifest)
            bar.write(
                f"rendered {state.name} ({describe_key(state.key)}, {len(ulaw) / 8000:.2f} s): "
                f"{state.reason}",
                file=out,
            )
            bar.update()
    finally:
        bar.close()
        if renderer is not None:
            await renderer.stop()
    print(
        f"{display_path(cache_dir)}: {done['source'] + done['tts']} rendered "
        f"({done['source']} from "
        f"source WAVs, {done['tts']} by the TTS), {done['fresh']} fresh skipped"
        + (f", {failed} failed" if failed else ""),
        file=out,
    )
    return 1 if failed else 0

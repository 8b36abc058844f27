"""agent/nodes/router.py: the encoder, examples and phrases are loaded once per process."""

from __future__ import annotations

from pathlib import Path

from agent.config import Config
from agent.graph import BuildContext, CallInfo, build_graph, load_graph
from agent.graph.build import ProcessCache
from agent.nodes.router import phrase_book_of
from processors.router import IntentRouter

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"DEEPGRAM_API_KEY": "dg", "GROQ_API_KEY": "gq", "CARTESIA_API_KEY": "ca"}


def build(shared: ProcessCache):
    cfg = Config.load(env=KEYS, dotenv_path=None)
    graph = load_graph(ROOT / "graphs" / "receptionist.yaml", cfg, strict=True)
    return build_graph(graph, BuildContext(cfg, graph, CallInfo("CA1", "MZ1"), shared=shared))


def test_each_call_gets_its_own_router_over_shared_models_and_audio(monkeypatch):
    import agent.phrases.cache as cache
    import agent.phrases.intent as intent

    shared = ProcessCache()
    first = build(shared)
    loads = {"encoder": 0, "audio": 0}

    def counting(kind, original):
        def wrapper(*args, **kwargs):
            loads[kind] += 1
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setitem(
        intent.ENCODERS, "wordllama", counting("encoder", intent.ENCODERS["wordllama"])
    )
    monkeypatch.setattr(cache, "load_phrase_book", counting("audio", cache.load_phrase_book))
    second = build(shared)
    assert loads == {"encoder": 0, "audio": 0}  # nothing loaded for the second call

    [r1] = [p for p in first.chain if isinstance(p, IntentRouter)]
    [r2] = [p for p in second.chain if isinstance(p, IntentRouter)]
    assert r1 is not r2 and r1.phrases is r2.phrases
    assert phrase_book_of(second) is r2.phrases
    # the shipped cache is complete, so every phrase plays from memory
    assert not r2.phrases.problems
    assert r2.phrases.audio_for_text("Thanks for calling Acme. How can I help?")
    # the router sits between the STT and the LLM's user aggregator
    names = [type(p).__name__ for p in second.chain]
    assert names.index("IntentRouter") == names.index("ResilientDeepgramSTTService") + 1
    assert names[names.index("IntentRouter") + 1] == "LLMUserAggregator"


def test_a_router_with_a_training_file_learns_its_paraphrases(tmp_path):
    # The receptionist's router with its training file replaced by one naming a paraphrase
    # no example is near, against the same router with no training file.
    text = (ROOT / "graphs" / "receptionist.yaml").read_text()
    shipped_training = "training: ../audio_cache/router_training.yaml, "
    assert "routes: ../audio_cache/routes.yaml, " + shipped_training in text
    text = text.replace(shipped_training, "")
    training = tmp_path / "training.yaml"
    training.write_text(
        "match:\n  pricing:\n"
        + "".join(
            f"    - {s}\n"
            for s in [
                "is this gonna break the bank",
                "will it break the bank",
                "does it break the bank",
                "break the bank or not",
            ]
        )  # fmt: skip
        + "no_match: [the bank called me about my card]\n"
    )
    graphs = tmp_path / "graphs"
    graphs.mkdir()
    for f in (ROOT / "graphs").iterdir():
        if f.is_file() and f.name != "receptionist.yaml":
            (graphs / f.name).write_bytes(f.read_bytes())
    (graphs / "prompts").symlink_to(ROOT / "graphs" / "prompts")
    routes = str(ROOT / "audio_cache" / "routes.yaml")
    (graphs / "receptionist.yaml").write_text(
        text.replace(
            "routes: ../audio_cache/routes.yaml,", f"routes: {routes}, training: {training},"
        )
    )
    untrained = text.replace("name: receptionist", "name: untrained")
    (graphs / "untrained.yaml").write_text(
        untrained.replace("routes: ../audio_cache/routes.yaml,", f"routes: {routes},")
    )
    cfg = Config.load(env=KEYS, dotenv_path=None)
    built = []
    paths = (graphs / "untrained.yaml", graphs / "receptionist.yaml")
    for path in (*paths, paths[1]):  # the trained one twice, each with its own ProcessCache
        graph = load_graph(path, cfg, strict=True)
        chain = build_graph(graph, BuildContext(cfg, graph, CallInfo("CA1", "MZ1"))).chain
        [router] = [p for p in chain if isinstance(p, IntentRouter)]
        built.append(router.matcher)
    shipped, trained, again = built
    assert again is trained  # seconds to train: once per process, not once per app
    sentence = "so is this gonna break the bank"
    assert shipped.match(sentence) is None
    assert trained.match(sentence).route == "pricing"
    assert trained.match("the bank called me about my card") is None

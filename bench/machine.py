"""Facts about the machine a benchmark ran on, for the RESULTS.md sections."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine_facts() -> dict[str, str]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        pipecat = version("pipecat-ai")
    except Exception:
        pipecat = "?"
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model or platform.processor() or "?",
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "pipecat": pipecat,
    }

"""Helpers shared by the benchmark scripts: percentiles, hardware description, JSON output."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms, dtype=np.float64)
    return {"p50_ms": round(float(np.percentile(values, 50)), 2),
            "p95_ms": round(float(np.percentile(values, 95)), 2),
            "n": int(values.size)}


def hardware() -> str:
    import torch

    from explorer.device import device_name, pick_device
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__}, " \
           f"device used: {device_name(pick_device())}"


def write_results(name: str, results: dict, path: Path | None = None) -> Path:
    """Write results (with the date and hardware) to benchmarks/results/<name>.json, or to
    `path` when given (tests write to a temporary file, never to the tracked results)."""
    path = Path(path) if path is not None else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    results = {**results, "measured": time.strftime("%Y-%m-%d %H:%M"), "hardware": hardware()}
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return path


def wait_healthy(url: str, process, timeout: float, poll: float = 0.3) -> None:
    """Wait until `url`/_stcore/health answers 200 (a Streamlit server, or a proxy in front
    of one). Raises RuntimeError when `process` (a subprocess.Popen) exits first or
    `timeout` seconds pass."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nothing healthy answered on {url}")
        time.sleep(poll)

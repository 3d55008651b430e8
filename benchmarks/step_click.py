"""Server time of one "Step 1 pixel" click on the PixelCNN page: the page before the
restructure (every tab rebuilt on every click) vs now (a click reruns only its fragment, and
only the open tab runs), measured in one run by alternating between two servers. Both serve
the same (pre-restructure) checkpoints, so only the page code differs.

The time is from the click's rerun request to script_finished, on loopback, with the
protocol client of benchmarks/classroom_load.py (no browser to share the CPU with).
Writes benchmarks/results/step_click.json.

Run: python -m benchmarks.step_click [--before d800ab8] [--clicks 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from benchmarks.classroom_load import LoadConfig, Recorder, Student, free_port
from benchmarks.common import ROOT, percentiles, write_results

DATA = ROOT.parent / "shared" / "data"


@contextlib.contextmanager
def server(tree: Path, env: dict[str, str]):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(tree / "streamlit_app.py"),
         "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=tree, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(15)


async def click_step(student: Student) -> float | None:
    """Press "Step 1 pixel" as the browser would (in its fragment when it has one); ms."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    path, button = next(((p, e.button) for p, e in sorted(student.elements.items())
                         if e.WhichOneof("type") == "button"
                         and e.button.label == "Step 1 pixel"), (None, None))
    if button is None or button.disabled:
        return None
    trigger = WidgetState(id=button.id, trigger_value=True)
    fragment = student.element_fragment.get(path, "")
    if not fragment:
        return await student._full_run(student.page, record=False, extra_states=[trigger],
                                       page_script_hash=student.pages.get(student.page, ""))
    waiter = asyncio.get_running_loop().create_future()
    student.fragment_waiters[fragment] = waiter
    started = time.perf_counter()
    student._send_rerun(page_script_hash=student.pages.get(student.page, ""),
                        fragment_id=fragment, extra_states=[trigger])
    await asyncio.wait_for(waiter, 120)
    return 1000 * (time.perf_counter() - started)


async def clicks(url: str, count: int) -> list[float]:
    config = LoadConfig(students=1, fetch_static=False, warmup=False)
    student = Student("bench", url, config, Recorder(), time.monotonic() + 600)
    try:
        assert await student.open("autoregressive"), "the page did not open"
        times = []
        for _ in range(count):
            elapsed = await click_step(student)
            if elapsed is not None:
                times.append(elapsed)
        return times
    finally:
        await student.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default="d800ab8", help="the commit before the restructure")
    parser.add_argument("--clicks", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    old_tree = Path(tempfile.mkdtemp(prefix="before-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(old_tree), args.before],
                   cwd=ROOT, check=True, capture_output=True)
    shared = {"EXPLORER_DATA": str(DATA), "EXPLORER_DEVICE": "cpu"}
    try:
        before_env = {**shared, "EXPLORER_CHECKPOINTS": str(old_tree / "checkpoints")}
        after_env = {**shared, "EXPLORER_SHIPPED_CHECKPOINTS": str(old_tree / "checkpoints")}
        before, after = [], []
        with server(old_tree, before_env) as old_url, server(ROOT, after_env) as new_url:
            asyncio.run(clicks(old_url, 3))  # warm both: models loaded, first runs done
            asyncio.run(clicks(new_url, 3))
            per_round = max(1, args.clicks // args.rounds)
            for _ in range(args.rounds):  # alternate, so drifts of the machine hit both
                before += asyncio.run(clicks(old_url, per_round))
                after += asyncio.run(clicks(new_url, per_round))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT,
                       capture_output=True)
    ratio = statistics.median(before) / statistics.median(after)
    write_results("step_click", {
        "before_commit": args.before, "before_ms": percentiles(before),
        "after_ms": percentiles(after), "median_ratio_before_over_after": round(ratio, 2),
        "goal": ">= 3x less server time per click",
        "what": "one 'Step 1 pixel' click, rerun request to script_finished over the "
                "websocket on loopback; both servers serve the pre-restructure checkpoints; "
                f"{args.rounds} alternating rounds",
        "raw_ms": {"before": [round(x, 1) for x in before],
                   "after": [round(x, 1) for x in after]},
        "mean_ms": {"before": round(float(np.mean(before)), 1),
                    "after": round(float(np.mean(after)), 1)}})


if __name__ == "__main__":
    main()

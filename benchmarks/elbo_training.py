"""ELBO lab training speed: steps/s and images/s of the default run, wall time until the
test ELBO reaches -100 nats, and training throughput with and without a browser watching the
live page. Writes benchmarks/results/elbo_training.json.

Run: python -m benchmarks.elbo_training [--no-browser]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

import torch

from benchmarks.common import write_results
from explorer import data, elbo_lab
from explorer.device import device_name, pick_device


@torch.no_grad()
def test_elbo(model, images: torch.Tensor) -> float:
    """Single-sample ELBO per image on fixed-binarized test images, nats."""
    generator = torch.Generator().manual_seed(0)  # not the global RNG the trainer draws from
    return float(model.estimate_log_likelihood(model.prepare(images, train=False), samples=1,
                                               chunk=1, generator=generator).mean())


def time_to_target(train, test_images, target: float = -100.0, limit_s: float = 180.0,
                   device: str = "cpu") -> dict:
    settings = elbo_lab.LabSettings(device=device)
    trainer = elbo_lab.make_trainer(settings, train.images, train.labels).start()
    started, reached, trace = time.perf_counter(), None, []
    while time.perf_counter() - started < limit_s:
        time.sleep(1.0)
        value = test_elbo(trainer.eval_copy(), test_images.to(trainer.device))
        elapsed = time.perf_counter() - started
        trace.append((round(elapsed, 1), round(value, 2)))
        if value >= target:
            reached = elapsed
            break
    steps, seconds = trainer.step, trainer.train_seconds
    trainer.stop()
    trainer.join(10)
    return {"seconds": None if reached is None else round(reached, 1), "trace": trace,
            "steps_per_s": round(steps / seconds, 1),
            "images_per_s": round(steps * settings.batch_size / seconds, 1),
            "device": device_name(trainer.device, trainer.config.threads)}


def server_side_overhead(seconds: float = 8.0, cycles: int = 6) -> dict:
    """Training throughput of a lab run (in its own worker process) with nobody watching vs
    with the live view's work done once a second: the worker draws a snapshot, and this
    process builds the page's five figures from it (elbo_lab.live_figures, the page's own
    builder) and their JSON as st.plotly_chart does. No browser; alternating windows."""
    import tempfile
    import threading

    import plotly.io

    from explorer.lab_runs import LabRuns
    from explorer.run_store import RunStore

    runs = LabRuns(RunStore(tempfile.mkdtemp(prefix="bench-runs-")))

    def refresh() -> None:
        drawn = runs.figures()
        if drawn is not None:
            for figure in drawn[0].values():
                plotly.io.to_json(figure.to_dict(), validate=False)

    def window(watched: bool) -> float:
        before = runs.status()
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(1.0):
                refresh()

        if watched:
            threading.Thread(target=loop, daemon=True).start()
        time.sleep(seconds)
        stop.set()
        after = runs.status()
        return (after.step - before.step) / max(after.seconds - before.seconds, 1e-9)

    runs.start(elbo_lab.LabSettings(device="cpu"))
    deadline = time.time() + 120
    while (runs.status().step < 50) and time.time() < deadline:
        time.sleep(0.5)
    alone, refreshed = [], []
    for _ in range(cycles):
        time.sleep(6)  # let the worker notice nobody watches any more
        alone.append(window(False))
        refreshed.append(window(True))
    runs.remove()
    rate_alone, rate_refreshed = statistics.median(alone), statistics.median(refreshed)
    return {"server_steps_per_s_alone": round(rate_alone, 1),
            "server_steps_per_s_with_refresh": round(rate_refreshed, 1),
            "server_ui_slowdown_percent": round(100 * (1 - rate_refreshed / rate_alone), 1),
            "server_ui_what": f"a run in its worker process; watched windows: the worker draws "
                              f"a snapshot and this process builds the page's 5 figures "
                              f"(elbo_lab.live_figures) and their JSON once a second, no "
                              f"browser; {cycles} alternating windows of {seconds:g} s (medians)"}


def watched_vs_unwatched(seconds: float = 10.0, cycles: int = 15) -> dict:
    """Throughput of the lab's run with its page open in a browser vs with no page open,
    alternating `cycles` times so drifts of this shared machine hit both sides alike."""
    from playwright.sync_api import sync_playwright

    from tests.browser.harness import CHROMIUM_ARGS, find_chromium, streamlit_server, wait_idle

    def read(page) -> tuple[int, float]:
        text = page.get_by_text("images/s", exact=False).first.inner_text()
        match = re.search(r"step ([\d,]+), epoch [\d.]+, ([\d.]+) s", text)
        return int(match.group(1).replace(",", "")), float(match.group(2))

    def open_lab(page, url: str) -> tuple[int, float]:
        page.goto(f"{url}/elbo_lab")
        page.get_by_text("images/s", exact=False).first.wait_for(timeout=60_000)
        return read(page)

    watched, unwatched = [], []
    with streamlit_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        wait_idle(page)
        page.goto(f"{url}/elbo_lab")
        wait_idle(page)
        page.get_by_role("button", name="Start training").click()
        page.get_by_text("images/s", exact=False).first.wait_for(timeout=60_000)
        time.sleep(5)
        for _ in range(cycles):
            step_a, time_a = read(page)
            time.sleep(seconds)
            step_b, time_b = read(page)
            watched.append((step_b - step_a) / max(time_b - time_a, 1e-9))
            page.goto("about:blank")
            time.sleep(seconds)
            step_c, time_c = open_lab(page, url)
            unwatched.append((step_c - step_b) / max(time_c - time_b, 1e-9))
            time.sleep(2)  # let the reload settle before the next watched window
        browser.close()
    rate_watched, rate_unwatched = statistics.median(watched), statistics.median(unwatched)
    return {"steps_per_s_watched": round(rate_watched, 1),
            "steps_per_s_unwatched": round(rate_unwatched, 1),
            "ui_slowdown_percent": round(100 * (1 - rate_watched / rate_unwatched), 1),
            "ui_windows": {"watched": [round(x, 1) for x in watched],
                           "unwatched": [round(x, 1) for x in unwatched]},
            "ui_what": f"one browser with the live page open (1 s refresh) vs no page open, "
                       f"{cycles} alternating windows of {seconds:g} s each (medians); browser "
                       "and server on the same machine; step counts and training seconds read "
                       "from the page's own caption"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--limit", type=float, default=180.0)
    args = parser.parse_args()
    train, test = data.load("mnist", "train"), data.load("mnist", "test")
    test_images = test.images[:1000]
    results = {"config": vars(elbo_lab.LabSettings())}
    cpu = time_to_target(train, test_images, limit_s=args.limit, device="cpu")
    results.update({"steps_per_s_cpu": cpu["steps_per_s"], "images_per_s_cpu": cpu["images_per_s"],
                    "seconds_to_elbo_minus_100_cpu": cpu["seconds"],
                    "elbo_trace_cpu": cpu["trace"], "goal_seconds_cpu": 60,
                    "training_device_cpu": cpu["device"]})
    if pick_device().type != "cpu":
        gpu = time_to_target(train, test_images, limit_s=args.limit, device="auto")
        results.update({"steps_per_s_gpu": gpu["steps_per_s"],
                        "images_per_s_gpu": gpu["images_per_s"],
                        "seconds_to_elbo_minus_100_gpu": gpu["seconds"]})
    else:
        results["gpu"] = "no GPU in this session"
    results.update(server_side_overhead())
    if not args.no_browser:
        results.update(watched_vs_unwatched())
    results["elbo_what"] = ("single-sample test ELBO on 1000 fixed-binarized test images, "
                            "checked once a second on a copy of the live weights")
    write_results("elbo_training", results)


if __name__ == "__main__":
    main()

"""Latent slider latency: server side (slider value -> new PNG bytes) and in the browser
(key press on a slider -> the new decoded image painted). Writes
benchmarks/results/latent_slider_latency.json.

Run: python benchmarks/latent_slider_latency.py [--moves 20] [--no-browser]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks.common import percentiles, write_results
from explorer import checkpoints, imaging, latent

WAIT_FOR_NEW_IMAGE = """([caption, old]) => {
  const box = [...document.querySelectorAll('[data-testid="stImage"]')]
      .find(e => e.innerText.includes(caption));
  const img = box && box.querySelector('img');
  return img && img.src !== old && img.complete && img.naturalWidth > 0;
}"""


def server_side(moves: int) -> list[float]:
    model, _ = checkpoints.load(checkpoints.checkpoint_dir() / "vae16_mnist", device="cpu")
    torch.set_grad_enabled(False)
    rng = np.random.default_rng(0)
    z = rng.normal(size=model.config.latent_dim).astype(np.float32)
    timings = []
    for step in range(moves + 10):
        z[rng.integers(model.config.latent_dim)] = rng.uniform(-3, 3)
        started = time.perf_counter()
        imaging.png_bytes(latent.decode_arrays(model, z)[0], scale=5)
        if step >= 10:  # warm-up excluded
            timings.append(1000 * (time.perf_counter() - started))
    return timings


def in_browser(moves: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    from tests.browser.harness import CHROMIUM_ARGS, find_chromium, streamlit_server, wait_idle
    caption = "decoded slider values"
    timings = []
    with streamlit_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/latent_explorer")
        wait_idle(page)
        thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
        image = page.locator(f'[data-testid="stImage"]:has-text("{caption}") img').first
        for move in range(moves + 2):
            old = image.get_attribute("src")
            thumb.focus()
            started = time.perf_counter()
            page.keyboard.press("ArrowRight" if move % 2 == 0 else "ArrowLeft")
            page.wait_for_function(WAIT_FOR_NEW_IMAGE, arg=[caption, old], timeout=30_000,
                                   polling="raf")
            if move >= 2:
                timings.append(1000 * (time.perf_counter() - started))
            wait_idle(page, quiet_ms=200)
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--server-moves", type=int, default=200)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    server = percentiles(server_side(args.server_moves))
    results = {"server_p50_ms": server["p50_ms"], "server_p95_ms": server["p95_ms"],
               "server_moves": server["n"],
               "server_what": "decode one z with the shipped 16-D VAE + PNG encode, 1 thread",
               "goal_server_p50_ms": 30, "goal_browser_p50_ms": 300}
    if not args.no_browser:
        browser = percentiles(in_browser(args.moves))
        results.update({"browser_p50_ms": browser["p50_ms"], "browser_p95_ms": browser["p95_ms"],
                        "browser_moves": browser["n"],
                        "browser_what": "arrow key on the first latent slider until the new "
                                        "decoded image has loaded (headless chromium, "
                                        "server on loopback, same machine)"})
    write_results("latent_slider_latency", results)


if __name__ == "__main__":
    main()

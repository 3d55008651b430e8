"""In-page latent decoding: a scripted drag across a latent slider in headless chromium.

Measures decoded frames per second during the drag (requestAnimationFrame timestamps of the
frames that painted a new decode, counted in the page) and the time of each decode (the
forward pass plus writing the pixels, performance.now() in the page), p50 and p95. Also the
bytes the page received on first load (the weights travel then, once per session). Writes
benchmarks/results/browser_decode.json.

Run: python -m benchmarks.browser_decode [--model vae16_mnist] [--sweeps 4] [--moves 120]
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import percentiles, write_results
from explorer import checkpoints, web_decoder

APP = "tests/browser/latent_decoder_app.py"
COUNT_FRAMES = """() => { window.__frames = []; const tick = (t) => { window.__frames.push(t);
  if (!window.__stop) requestAnimationFrame(tick); }; window.__stop = false;
  requestAnimationFrame(tick); }"""


def drag(page, sweeps: int, moves: int) -> None:
    """Press on the first slider's track and sweep the pointer end to end, `sweeps` times."""
    box = page.locator("input.ld-range").first.bounding_box()
    y = box["y"] + box["height"] / 2
    left, right = box["x"] + 0.05 * box["width"], box["x"] + 0.95 * box["width"]
    page.mouse.move(left, y)
    page.mouse.down()
    for sweep in range(sweeps):
        page.mouse.move(right if sweep % 2 == 0 else left, y, steps=moves)


def measure(model: str, sweeps: int, moves: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser.harness import CHROMIUM_ARGS, find_chromium, streamlit_server, wait_idle
    received: list[int] = []
    with streamlit_server(script=APP) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(len(f))))
        page.goto(f"{url}/?model={model}")
        wait_idle(page)
        root = page.locator('.ld-root[data-status="ready"]')
        root.wait_for(timeout=60_000)
        first_load = sum(received)
        drag(page, 2, moves // 2)  # warm-up: the JIT compiles the forward pass
        page.mouse.up()
        wait_idle(page)
        root.evaluate("r => { r.latentView.decodeMs = []; r.latentView.paintTimes = []; }")
        page.evaluate(COUNT_FRAMES)
        drag(page, sweeps, moves)
        page.evaluate("() => { window.__stop = true; }")
        decode_ms = root.evaluate("r => r.latentView.decodeMs")
        paints = np.array(root.evaluate("r => r.latentView.paintTimes"))
        frames = np.array(page.evaluate("() => window.__frames"))
        page.mouse.up()
        version = browser.version
        browser.close()
    seconds = (paints[-1] - paints[0]) / 1000
    return {"paints": len(paints), "seconds": seconds, "decode_ms": decode_ms,
            "drag_fps": (len(paints) - 1) / seconds,
            "display_fps": (len(frames) - 1) / ((frames[-1] - frames[0]) / 1000),
            "first_load_bytes": first_load, "chromium": version}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="vae16_mnist")
    parser.add_argument("--sweeps", type=int, default=4, help="end-to-end passes in one drag")
    parser.add_argument("--moves", type=int, default=120, help="pointer moves per pass")
    args = parser.parse_args()
    exported = web_decoder.export_decoder(
        checkpoints.load(checkpoints.checkpoint_dir() / args.model, device="cpu")[0])
    run = measure(args.model, args.sweeps, args.moves)
    decode = percentiles(run["decode_ms"])
    write_results("browser_decode", {
        "drag_fps": round(run["drag_fps"], 1),
        "decode_ms_p50": decode["p50_ms"], "decode_ms_p95": decode["p95_ms"],
        "decodes": decode["n"], "pointer_moves": args.sweeps * args.moves,
        "drag_seconds": round(run["seconds"], 2),
        "display_fps": round(run["display_fps"], 1),
        "weights_bytes": len(exported.weights), "payload_bytes": exported.nbytes,
        "first_load_websocket_bytes": run["first_load_bytes"],
        "goal_drag_fps": 30, "goal_decode_ms_p50": 5,
        "model": args.model, "chromium": run["chromium"],
        "what": (f"headless chromium, a scripted drag on the first latent slider ({args.sweeps} "
                 f"passes x {args.moves} pointer moves); drag_fps: frames that painted a new "
                 "decode per second (requestAnimationFrame timestamps); display_fps: all "
                 "frames; decode: forward pass + pixels, performance.now() in the page. "
                 "When decodes equals pointer_moves, every move was decoded and drag_fps "
                 "is the pointer's event rate, not a decoding limit"),
    })


if __name__ == "__main__":
    main()

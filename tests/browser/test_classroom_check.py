"""Browser check of the classroom load client: three real chromium browsers browse the same
pages as three simulated students, and their page-load times must be of the same order
(within 10x either way: one order of magnitude) as the client's, or the client does not
stand for a classroom. On two cores the three chromium renderers share the server's CPU, so
the browsers' page loads run a few times longer than the client's (4.6x at p50, measured).

Both sides time a page load the same way: from the rerun_script BackMsg (the browser's, seen
in its websocket frames) to the full run's script_finished. The client runs first (it warms
the server up), then the browsers, on the same server.

Script mode (writes benchmarks/results/classroom_browser_check.json):
    python -m tests.browser.test_classroom_check [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import json
import math
import random
import statistics
import time
from collections import defaultdict

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.classroom_load import (
    LoadConfig,
    discover_pages,
    run_load,
    summary_ms,
    warm_up,
)
from tests.browser.harness import CHROMIUM_ARGS, find_chromium, streamlit_server

BROWSERS = 3
SAME_ORDER = 10.0  # "same order of magnitude": within this factor either way
FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)
SLIDER = '[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]:not([disabled])'


class FrameClock:
    """Times full-app runs in one browser tab from its websocket frames, with the browser's
    own timestamps (Chrome DevTools Protocol Network.webSocketFrame* events), so relaying
    the frames to this Python process adds nothing to the times."""

    def __init__(self, exceptions: list[str]):
        self.exceptions = exceptions
        self.sent: float | None = None  # browser timestamp of the pending rerun, seconds
        self.finished = asyncio.Event()
        self.last_ms: float | None = None

    async def attach(self, context, page) -> None:
        session = await context.new_cdp_session(page)
        session.on("Network.webSocketFrameSent", self.on_sent)
        session.on("Network.webSocketFrameReceived", self.on_received)
        await session.send("Network.enable")

    @staticmethod
    def payload(params: dict) -> bytes | None:
        frame = params["response"]
        return base64.b64decode(frame["payloadData"]) if frame.get("opcode") == 2 else None

    def on_sent(self, params: dict) -> None:
        data = self.payload(params)
        if data is None:
            return
        message = BackMsg.FromString(data)
        if message.WhichOneof("type") == "rerun_script" and not message.rerun_script.fragment_id:
            self.sent = params["timestamp"]
            self.finished.clear()

    def on_received(self, params: dict) -> None:
        data = self.payload(params)
        if data is None:
            return
        message = ForwardMsg.FromString(data)
        kind = message.WhichOneof("type")
        if kind == "script_finished" and message.script_finished in FINISHED:
            if self.sent is not None:
                self.last_ms = 1000 * (params["timestamp"] - self.sent)
                self.sent = None
            self.finished.set()
        elif kind == "delta" and message.delta.new_element.WhichOneof("type") == "exception":
            error = message.delta.new_element.exception
            self.exceptions.append(f"{error.type}: {error.message}")

    async def load(self, timeout: float) -> float | None:
        """Wait for the run under way to finish; its rerun -> script_finished time in ms."""
        try:
            await asyncio.wait_for(self.finished.wait(), timeout)
        except asyncio.TimeoutError:
            return None
        return self.last_ms


async def browser_student(browser, url: str, pages: list[str], first: int, end: float,
                          dwell_s: float, samples: dict[str, list[float]],
                          exceptions: list[str], rng: random.Random) -> None:
    """What a simulated student does, in a real browser: deep link, nudge, dwell, click on."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    clock = FrameClock(exceptions)
    await clock.attach(context, page)
    order = pages[first:] + pages[:first]
    try:
        clock.finished.clear()
        await page.goto(f"{url}/{order[0]}")
        step = 0
        while True:
            loaded = await clock.load(max(1.0, end + 60 - time.monotonic()))
            if loaded is not None:
                kind = "navigation" if step else "deep_link"
                samples[f"{kind} /{order[step % len(order)]}"].append(loaded)
            slider = page.locator(SLIDER).first
            if await slider.count():
                await slider.focus()
                await page.keyboard.press("ArrowRight")
            await asyncio.sleep(max(0.0, min(end - time.monotonic(),
                                             dwell_s * rng.uniform(0.5, 1.5))))
            if time.monotonic() >= end:
                break
            step += 1
            target = order[step % len(order)]
            clock.finished.clear()
            await page.locator(f'[data-testid="stSidebarNav"] a[href="{url}/{target}"]').click()
    finally:
        await context.close()


async def browsers_browse(url: str, pages: list[str], seconds: float,
                          dwell_s: float) -> tuple[dict[str, list[float]], list[str]]:
    """Page-load samples (ms) per page of BROWSERS browsing chromium contexts, exceptions."""
    from playwright.async_api import async_playwright

    samples: dict[str, list[float]] = defaultdict(list)
    exceptions: list[str] = []
    rng = random.Random(0)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=find_chromium(),
                                                   args=CHROMIUM_ARGS, headless=True)
        end = time.monotonic() + seconds
        try:
            await asyncio.gather(*(
                browser_student(browser, url, pages, i % len(pages), end, dwell_s, samples,
                                exceptions, random.Random(rng.random()))
                for i in range(BROWSERS)))
        finally:
            await browser.close()
    return samples, exceptions


async def side_by_side(url: str, seconds: float, dwell_s: float) -> tuple[dict, list, list]:
    """Warm the server up, then three simulated students and three browsers at once."""
    deadline = time.monotonic() + 600
    config = LoadConfig(students=BROWSERS, duration_s=seconds, grace_s=60, ramp_s=1,
                        dwell_s=dwell_s, settle_s=0, probe=False, warmup=False)
    pages = await discover_pages(url, config, deadline)
    await warm_up(url, config, pages, deadline)
    client, (samples, exceptions) = await asyncio.gather(
        run_load(url, config, pid=None), browsers_browse(url, pages, seconds, dwell_s))
    return client, samples, exceptions


def compare(seconds: float = 20.0, dwell_s: float = 2.0) -> dict:
    """Page loads of three simulated students and three browsers on one server, at once:
    both see the same server under the same load (6 visitors) and the same CPU contention
    (chromium's rendering included), so the ratio measures the client as an instrument."""
    with streamlit_server() as url:
        # in its own thread: Playwright's sync API may hold an event loop in this one
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            client, samples, exceptions = pool.submit(
                asyncio.run, side_by_side(url, seconds, dwell_s)).result()
    browser_load = summary_ms([ms for values in samples.values() for ms in values])
    browser_by_page = {page: summary_ms(values) for page, values in sorted(samples.items())}
    client_load, client_by_page = client["page_load"], client["page_load_by_kind_and_page"]

    def ratio(browser: dict, client: dict, key: str = "p50_ms") -> float | None:
        if browser[key] is None or not client[key]:
            return None
        return round(browser[key] / client[key], 2)
    # In a short run the two sides load different mixes of light and heavy pages, and of
    # first loads (a new session) and navigation clicks, so the verdict compares each page
    # and kind of load with itself: the geometric mean of their p50 ratios.
    per_page = {page: ratio(browser_by_page[page], client_by_page[page])
                for page in browser_by_page if page in client_by_page}
    per_page = {page: r for page, r in per_page.items() if r is not None}
    typical = round(math.exp(statistics.fmean(math.log(r) for r in per_page.values())), 2) \
        if per_page else None
    return {
        "pages": client["pages"],
        "seconds": seconds,
        "browser_page_load": browser_load,
        "browser_page_load_by_kind_and_page": browser_by_page,
        "browser_exceptions": {"count": len(exceptions), "first": exceptions[:5]},
        "client_page_load": client_load,
        "client_page_load_by_kind_and_page": client_by_page,
        "client_exceptions": client["exceptions"],
        "client_fragment": client["fragment"],
        "browser_over_client": {"p50": ratio(browser_load, client_load),
                                "p95": ratio(browser_load, client_load, "p95_ms"),
                                "p50_per_page": per_page,
                                "p50_per_page_geometric_mean": typical},
        "same_order": typical is not None and 1 / SAME_ORDER <= typical <= SAME_ORDER,
        "note": f"{BROWSERS} simulated students and {BROWSERS} chromium contexts browsing the "
                "same pages of one server at the same time; page load = rerun_script sent -> "
                "script_finished, read from websocket frames (browser timestamps via CDP).",
    }


def test_browsers_and_the_load_client_agree_within_an_order_of_magnitude(chromium_path, tmp_path):
    result = compare(seconds=8.0)  # within the suite's budget: at least 3 loads a side
    (tmp_path / "classroom_browser_check.json").write_text(json.dumps(result, indent=2))
    assert result["browser_page_load"]["n"] >= BROWSERS, result
    assert result["client_page_load"]["n"] >= BROWSERS, result
    assert result["browser_exceptions"]["count"] == 0, result["browser_exceptions"]
    assert result["client_exceptions"]["count"] == 0, result["client_exceptions"]
    assert result["same_order"], result["browser_over_client"]


if __name__ == "__main__":
    from benchmarks.common import write_results

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--dwell", type=float, default=2.0)
    arguments = parser.parse_args()
    write_results("classroom_browser_check", compare(arguments.seconds, arguments.dwell))

"""Browser end-to-end harness: a streamlit server on a free loopback port and Playwright
driving Debian's chromium. Reused by every page's browser test and by benchmarks.

A test run never rewrites tracked files: screenshots and page-load times go to
.pytest_cache/browser/ (ignored by git). The committed copies (docs/screenshots/*.png,
benchmarks/results/page_load.json) are refreshed on purpose only:

    python -m tests.browser.refresh_docs        # or: EXPLORER_REFRESH_DOCS=1 pytest tests/browser
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from benchmarks.classroom_load import launch_server

ROOT = Path(__file__).resolve().parents[2]
REFRESH_DOCS_ENV_VAR = "EXPLORER_REFRESH_DOCS"  # "1": write the committed screenshots
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
PAGE_LOAD_RESULTS = ROOT / "benchmarks" / "results" / "page_load.json"
SCRATCH = ROOT / ".pytest_cache" / "browser"  # ignored by git: what plain test runs write
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                       "/usr/bin/google-chrome")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(env: dict[str, str] | None = None, timeout: float = 90,
                     script: str = "streamlit_app.py") -> Iterator[str]:
    """Run `streamlit run <script>` (relative to the repo root) on 127.0.0.1:<free port>;
    yield its base URL."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with launch_server(port=port, env=env, log=SCRATCH / f"streamlit-{port}.log",
                       timeout=timeout, script=script) as server:
        yield server.url


def wait_idle(page, timeout: float = 90.0, quiet_ms: int = 600) -> None:
    """Wait until the app has painted and no script run is in progress for quiet_ms."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    deadline = time.time() + timeout
    quiet_since = None
    while time.time() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0 or \
            page.locator('[data-testid="stSkeleton"]').count() > 0
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif (time.time() - quiet_since) * 1000 >= quiet_ms:
            return
        time.sleep(0.1)
    raise TimeoutError("the app kept running past the timeout")


@contextmanager
def sized_page(browser, width: int, height: int) -> Iterator:
    """A page in its own browser context at a width x height viewport, closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


VIEWS = {"laptop": (1280, 800, False), "projector": (1920, 1080, True)}  # width, height, view


@contextmanager
def page_at(browser, app_url: str, path: str, size: str) -> Iterator:
    """A page opened at `path` (with its query, if any) at a laptop's 1280x800 or in
    projector view at 1920x1080 (`size` "laptop" or "projector"), once the app is idle."""
    width, height, projector = VIEWS[size]
    if projector:
        path += ("&" if "?" in path else "?") + "projector=true"
    with sized_page(browser, width, height) as page:
        page.goto(f"{app_url}/{path}")
        wait_idle(page, timeout=180)
        yield page


def plotly_chart(page, key: str):
    """The plotly chart element of the st.plotly_chart with widget key `key`, once drawn."""
    chart = page.locator(f".st-key-{key} .js-plotly-plot")
    chart.wait_for()
    return chart


def tops(locator) -> list[float]:
    """The top edge (px) of every element the locator matches, after the first appears:
    elements meant to stand level in a row have tops within a pixel or two."""
    locator.first.wait_for()
    return [locator.nth(i).bounding_box()["y"] for i in range(locator.count())]


def assert_no_exception(page) -> None:
    boxes = page.locator('[data-testid="stException"]')
    if boxes.count():
        raise AssertionError("exception on page: " + boxes.first.inner_text()[:2000])


def refreshing_docs() -> bool:
    """True when this run should rewrite the committed screenshots and page_load.json."""
    return os.environ.get(REFRESH_DOCS_ENV_VAR) == "1"


def screenshot_dir() -> Path:
    """docs/screenshots/ when refreshing the docs, else .pytest_cache/browser/screenshots/."""
    return DOCS_SCREENSHOTS if refreshing_docs() else SCRATCH / "screenshots"


def page_load_path() -> Path:
    """benchmarks/results/page_load.json when refreshing the docs, else a scratch copy."""
    return PAGE_LOAD_RESULTS if refreshing_docs() else SCRATCH / "page_load.json"


def screenshot(page, name: str) -> Path:
    """Save a small PNG named NAME.png in screenshot_dir() (the README's copies only when
    refreshing the docs)."""
    folder = screenshot_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.evaluate("document.querySelectorAll('[data-testid=\"stMain\"], section.main')"
                  ".forEach(e => e.scrollTo(0, 0)); window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=False)
    try:
        from PIL import Image
        picture = Image.open(path)
        if picture.width > 1100:
            ratio = 1100 / picture.width
            picture = picture.resize((1100, int(picture.height * ratio)), Image.LANCZOS)
        picture.convert("P", palette=Image.ADAPTIVE, colors=128).save(path, optimize=True)
    except Exception:
        pass
    return path


# ---- clicking charts ---------------------------------------------------------------------
# Fractions of a chart's plot area (0, 0 = bottom left): its centre, corners and edge
# midpoints, 1 % inside so the click stays on the plot.
CLICK_SPOTS = {"centre": (0.5, 0.5), "top_left": (0.01, 0.99), "top_right": (0.99, 0.99),
               "bottom_left": (0.01, 0.01), "bottom_right": (0.99, 0.01),
               "left_edge": (0.01, 0.5), "right_edge": (0.99, 0.5), "top_edge": (0.5, 0.99),
               "bottom_edge": (0.5, 0.01)}


def plot_spot(chart, fx: float, fy: float) -> tuple[float, float]:
    """Page pixel (x, y) at fractions (fx, fy) of a plotly chart's plot area (the first
    x/y axes), 0 = left/bottom. `chart` is a locator of the .js-plotly-plot element."""
    return tuple(chart.evaluate(
        """(gd, [fx, fy]) => {
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            const box = gd.getBoundingClientRect();
            return [box.left + xa._offset + fx * xa._length,
                    box.top + ya._offset + (1 - fy) * ya._length];
        }""", [fx, fy]))


def click_chart(page, chart, spot: str | tuple[float, float] = "centre") -> None:
    """Hover, then click a plotly chart at a named CLICK_SPOTS spot or at (fx, fy)."""
    chart.scroll_into_view_if_needed()
    x, y = plot_spot(chart, *(CLICK_SPOTS[spot] if isinstance(spot, str) else spot))
    page.mouse.move(x, y)
    # plotly picks the point under the cursor on hover: click once its label shows (a fixed
    # 200 ms was too short on a loaded machine, and the click selected nothing)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        chart.locator(".hoverlayer .hovertext").first.wait_for(state="visible", timeout=3000)
    except PlaywrightTimeout:  # a chart whose points show no hover label
        pass
    page.wait_for_timeout(100)
    page.mouse.click(x, y)

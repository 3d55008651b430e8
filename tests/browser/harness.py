"""Browser end-to-end harness: a streamlit server on a free loopback port and Playwright
driving Debian's chromium. Reused by every page's browser test and by benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
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
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / script),
               "--server.headless", "true", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    log = open(ROOT / ".pytest_cache" / f"streamlit-{port}.log", "w") \
        if (ROOT / ".pytest_cache").is_dir() else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start on {url}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


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


def assert_no_exception(page) -> None:
    boxes = page.locator('[data-testid="stException"]')
    if boxes.count():
        raise AssertionError("exception on page: " + boxes.first.inner_text()[:2000])


def screenshot(page, name: str) -> Path:
    """Save a small PNG for the README under docs/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
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

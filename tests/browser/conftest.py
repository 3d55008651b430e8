"""Fixtures for browser tests: skip with a reason when no browser, never skip under CI.

Page-load times go to .pytest_cache/browser/page_load.json; only a docs refresh
(python -m tests.browser.refresh_docs) rewrites benchmarks/results/page_load.json.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.browser.harness import CHROMIUM_ARGS, find_chromium, page_load_path, streamlit_server, wait_idle

PAGE_LOAD_TIMES: dict[str, float] = {}
_WARMED: set[str] = set()


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if not path:
        _unavailable("no chromium found (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    return path


@pytest.fixture(scope="session")
def server_url(chromium_path, tmp_path_factory) -> str:
    """One app server for the browser tests, with a run store of its own (a run the lab
    tests start must not show in other tests' store, nor theirs here)."""
    runs = tmp_path_factory.mktemp("browser-runs")
    with streamlit_server(env={"EXPLORER_RUNS": str(runs)}) as url:
        yield url
    if PAGE_LOAD_TIMES:
        results = page_load_path()
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps({
            "page_load_seconds": PAGE_LOAD_TIMES,
            "measured": time.strftime("%Y-%m-%d"),
            "hardware": f"{os.cpu_count()} CPU cores, headless chromium",
            "note": "goto until no script run for 0.6 s (first visit; includes model loading)",
        }, indent=2) + "\n")


@pytest.fixture(scope="module")
def app_url(server_url, browser) -> str:
    """The server's URL, visited once first: the first visit flips Streamlit out of its
    pages/-folder mode with one rerun, and no test's click should land in that rerun."""
    if server_url not in _WARMED:
        warm = browser.new_page()
        warm.goto(server_url)
        wait_idle(warm)
        warm.close()
        _WARMED.add(server_url)
    return server_url


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Chromium for one test module. Module scope, so Playwright's event loop, which runs
    on the main thread while it is open, is gone before the non-browser tests (which call
    asyncio.run) start."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()

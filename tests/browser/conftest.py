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
def app_url(chromium_path, browser) -> str:
    with streamlit_server() as url:
        # The first visit flips Streamlit out of its pages/-folder mode with one rerun;
        # do it here so no test's click lands in that rerun.
        warm = browser.new_page()
        warm.goto(url)
        wait_idle(warm)
        warm.close()
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


@pytest.fixture(scope="session")
def browser(chromium_path):
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

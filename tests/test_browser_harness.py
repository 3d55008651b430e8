"""The test suite leaves tracked files alone and skips, with the reason, what needs data.

Plain runs put screenshots and page-load times in .pytest_cache/browser/ (ignored by git);
only EXPLORER_REFRESH_DOCS=1 (python -m tests.browser.refresh_docs) writes the committed
docs/screenshots/*.png and benchmarks/results/page_load.json.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tests.browser import harness

ROOT = Path(__file__).resolve().parent.parent


class FakePage:
    """Just what harness.screenshot calls on a Playwright page."""

    def evaluate(self, script: str) -> None:
        pass

    def wait_for_timeout(self, ms: int) -> None:
        pass

    def screenshot(self, path: str, full_page: bool = False) -> None:
        Image.fromarray(np.zeros((20, 30, 3), dtype=np.uint8)).save(path)


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def test_a_plain_run_writes_screenshots_outside_the_tracked_docs(monkeypatch):
    monkeypatch.delenv(harness.REFRESH_DOCS_ENV_VAR, raising=False)
    path = harness.screenshot(FakePage(), "harness_probe")
    try:
        assert path.is_file() and harness.DOCS_SCREENSHOTS not in path.parents
        assert harness.page_load_path() != harness.PAGE_LOAD_RESULTS
        if shutil.which("git") and git("rev-parse").returncode == 0:
            for written in (path, harness.page_load_path()):
                assert git("check-ignore", "-q", str(written)).returncode == 0, written
    finally:
        path.unlink(missing_ok=True)


def test_refreshing_the_docs_is_explicit(monkeypatch):
    monkeypatch.setenv(harness.REFRESH_DOCS_ENV_VAR, "1")
    assert harness.screenshot_dir() == ROOT / "docs" / "screenshots"
    assert harness.page_load_path() == ROOT / "benchmarks" / "results" / "page_load.json"
    monkeypatch.setenv(harness.REFRESH_DOCS_ENV_VAR, "0")
    assert harness.screenshot_dir() != ROOT / "docs" / "screenshots"


def test_the_elbo_lab_browser_test_skips_without_mnist(tmp_path):
    """On a fresh clone without MNIST it used to wait minutes for a Start button the page
    does not show; now it is skipped, saying why, before any server or browser starts."""
    env = {**os.environ, "EXPLORER_DATA": str(tmp_path), "EXPLORER_DATA_ONLY": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-n", "0",
                          "tests/browser/test_elbo_lab.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert " skipped" in run.stdout and "MNIST not found" in run.stdout  # every test in it
    assert " passed" not in run.stdout and " failed" not in run.stdout


"""Refresh the committed screenshots (docs/screenshots/*.png) and page-load times
(benchmarks/results/page_load.json) on purpose; plain test runs never touch them.

    python -m tests.browser.refresh_docs [extra pytest arguments]

Runs the browser tests with EXPLORER_REFRESH_DOCS=1 (the same as
`EXPLORER_REFRESH_DOCS=1 python -m pytest tests/browser`). It refuses to start without
MNIST, because the pages would then be photographed in their "data missing" state, and
fails when any browser test is skipped, so a partial refresh is never committed by mistake.
Run it on a quiet machine: page-load times are measured in the same run.
"""

from __future__ import annotations

import os
import sys

import pytest

from explorer import data
from tests.browser.harness import DOCS_SCREENSHOTS, PAGE_LOAD_RESULTS, REFRESH_DOCS_ENV_VAR, ROOT


class _CountSkips:
    skipped = 0

    def pytest_runtest_logreport(self, report) -> None:
        if report.skipped:
            self.skipped += 1


def main(argv: list[str] | None = None) -> int:
    if not data.is_available("mnist"):
        print("MNIST is not available, so the pages would be photographed without data. "
              "Put it where explorer.data finds it, then run this again.", file=sys.stderr)
        return 2
    os.environ[REFRESH_DOCS_ENV_VAR] = "1"
    counter = _CountSkips()
    # one process: page_load.json is timed with nothing else running beside it
    code = pytest.main(["-q", "-n", "0", str(ROOT / "tests" / "browser"), *(argv or [])],
                       plugins=[counter])
    if code == 0 and counter.skipped:
        print(f"{counter.skipped} browser test(s) were skipped: the refresh is incomplete.",
              file=sys.stderr)
        return 3
    if code == 0:
        print(f"Wrote the screenshots of the tests that ran into "
              f"{DOCS_SCREENSHOTS.relative_to(ROOT)}/ and, when test_home ran, "
              f"{PAGE_LOAD_RESULTS.relative_to(ROOT)}; review them with git diff.")
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Runs after the other browser tests (file order): the shared app server's log holds no
traceback and no Streamlit warning: none about how the pages use widgets and Session State,
about the warm-up thread's cache loads, or about a missing static folder."""
from urllib.parse import urlparse

from tests.browser.harness import SCRATCH

FORBIDDEN = ("Traceback", "set via the Session State API", "Uncaught app exception",
             "missing ScriptRunContext", "no static folder found")


def test_the_server_log_is_clean(server_url):
    log = SCRATCH / f"streamlit-{urlparse(server_url).port}.log"
    text = log.read_text(errors="replace")
    found = [line for line in text.splitlines() if any(bad in line for bad in FORBIDDEN)]
    assert not found, "\n".join(found[:10])

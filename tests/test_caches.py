"""Caches keyed by user input stay bounded: every st.cache_* on a function with parameters
has max_entries, and 200 distinct inputs evict the oldest ones instead of keeping them all."""

import ast
from pathlib import Path

import pytest

from app_pages import caches
from explorer import synthetic

ROOT = Path(__file__).resolve().parent.parent


def cached_functions():
    for path in sorted((ROOT / "app_pages").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    text = ast.unparse(decorator)
                    if "cache_data" in text or "cache_resource" in text:
                        yield path.name, node, text


@pytest.mark.parametrize("where, node, decorator", list(cached_functions()),
                         ids=lambda v: getattr(v, "name", str(v)))
def test_every_cache_keyed_by_input_has_a_bound(where, node, decorator):
    if node.args.args:  # keyed by its arguments: must be bounded
        assert "max_entries" in decorator or "ttl" in decorator, f"{where}:{node.name}"


def counter(monkeypatch, owner, name):
    """Count the calls of owner.name (the work a cached function does on a miss)."""
    calls = []
    real = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.mark.parametrize("cached, arguments, owner, name", [
    (caches.draw_samples, lambda i: ("two bumps", 10 + i, 0),
     type(synthetic.DENSITIES_1D["two bumps"]), "sample"),
    (caches.fields, lambda i: ("moons", 20 + i, 0.3), synthetic, "sample_2d"),
    (caches.classifier_for, lambda i: ("moons", 20 + i), synthetic, "sample_2d"),
])
def test_200_distinct_inputs_evict_the_oldest(cached, arguments, owner, name, monkeypatch):
    calls = counter(monkeypatch, owner, name)
    cached.clear()
    for i in range(200):
        cached(*arguments(i))
    after_fill = len(calls)
    cached(*arguments(199))  # the newest is still cached: no new work
    assert len(calls) == after_fill
    cached(*arguments(0))  # the oldest was evicted: computed again
    assert len(calls) > after_fill


def test_the_warm_up_draws_every_sampler_models_gallery(use_tiny_checkpoints, monkeypatch):
    """A first switch to another PixelCNN waited ~30 s for its gallery: the warm-up draws
    each shipped autoregressive model's samples in the background at start-up."""
    from app_pages import caches
    from app_pages.common import GALLERY_MODELS, WarmUp, load_optional

    warm = WarmUp()
    warm.thread.join(timeout=180)
    names = [name for name, _ in warm.steps]
    assert warm.finished and not warm.failed
    assert all(title in names for title in GALLERY_MODELS.values())
    masked = load_optional("masked_pixelcnn_mnist")

    def not_again(*args, **kwargs):
        raise AssertionError("the gallery was drawn again")

    monkeypatch.setattr(caches.quality, "gallery", not_again)
    assert caches.sample_gallery(masked[1]["cache_key"], masked[0]).images is not None


@pytest.mark.parametrize("in_server", [True, False])
def test_a_stopped_server_does_not_wait_for_its_warm_up(in_server):
    """A server stopped during its first minute waited for the warm-up's gallery (up to 60
    s; every test server's teardown took 15 s and then a kill). Now no further step starts
    and a server ends after a grace of seconds, with status 0; outside a server (a test
    run, whose exit status must stand) the exit still waits for the step under way."""
    import subprocess
    import sys
    import time

    code = ("import atexit, time\n"
            "from app_pages.common import WarmUp\n"
            "ran = []\n"  # registered first, so it runs after the warm-up's exit handler
            "atexit.register(lambda: print('next ran' if ran else 'next skipped', flush=True))\n"
            f"w = WarmUp(steps=[('slow', lambda: time.sleep({8 if in_server else 3})), "
            f"('next', lambda: ran.append(1))], in_server={in_server})\n"
            "print('started', time.monotonic(), flush=True)\n"  # one clock for the machine
            "time.sleep(0.5)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent,
                          capture_output=True, text=True, timeout=60)
    # from the warm-up's start to the process's end (not its imports, slow on a busy machine)
    elapsed = time.monotonic() - float(done.stdout.split("started ")[1].split()[0])
    assert done.returncode == 0, done.stderr[-2000:]
    if in_server:
        assert elapsed < 6.5, elapsed  # about the grace (3 s), not the 8 s step
    else:
        assert elapsed >= 3 and "next skipped" in done.stdout, (elapsed, done.stdout)


def test_only_a_real_server_counts_as_one():
    """An AppTest's runtime exists too (a mock): a warm-up made there must not end the test
    process at exit with status 0, which would hide failed tests."""
    from streamlit.testing.v1 import AppTest

    from app_pages.common import WarmUp

    assert WarmUp(steps=[]).in_server is False  # plain Python
    at = AppTest.from_string("import streamlit as st\n"
                             "from app_pages.common import WarmUp\n"
                             "st.write(f'in server: {WarmUp(steps=[]).in_server}')").run()
    assert [m.value for m in at.markdown] == ["in server: False"]

"""AppTest for the ELBO lab: start a tiny run (its own process), change beta, see the curve
and the marker, stop; a diverged run is explained and continues slower."""

import os
import re
import time

import pytest

from app_pages import lab_controls
from app_pages.common import lab_runs
from explorer import elbo_lab
from tests.conftest import kill_workers, requires_mnist, wait_until
from tests.test_app import open_page, open_tab

PAGE = "app_pages/elbo_lab.py"


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("EXPLORER_CHECKPOINTS", str(tmp_path / "saved"))
    handle = lab_runs()
    yield handle
    kill_workers(handle)


@requires_mnist
def test_start_change_beta_save_and_stop(runs, use_tiny_checkpoints):
    at = open_page(PAGE)
    assert not at.exception
    at.selectbox(key="lab_latent").set_value(2).run()
    at.selectbox(key="lab_batch").set_value(512).run()
    at.button(key="lab_start").click().run()
    status = wait_until(lambda: (s := runs.status()) and s.step > 10 and s)
    assert status.pid != os.getpid()  # trains outside the server process
    at.run()
    at.select_slider(key="lab_beta").set_value(3.0).run()
    wait_until(lambda: runs.status().hyper.get("beta") == 3.0)
    wait_until(lambda: (d := runs.figures()) and d[1]["snapshot"].markers)
    at.run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) >= 4 and any("β→3" in c.proto.spec for c in charts)
    at.text_input(key="lab_save_name").set_value("my_vae").run()
    at.button(key="lab_save").click().run()
    assert any("Saved `my_vae`" in s.value for s in at.success), [e.value for e in at.error]
    at.button(key="lab_save").click().run()  # the same name again: refused, not overwritten
    assert any("already exists" in e.value for e in at.error)
    bounds = open_tab(at, "lab_tab", "ELBO vs IWAE")
    assert any("tighter bound" in c.value for c in bounds.caption)  # says what it will show
    bounds.button(key="lab_bounds_button").click().run()
    assert not bounds.exception
    assert any(re.search(r"Bounds of the ELBO lab run's model at step [\d,]+ \(epoch", c.value)
               for c in bounds.caption)  # which model the bounds are of
    open_tab(at, "lab_tab", "Live run").button(key="lab_stop").click().run()
    wait_until(lambda: runs.status().state == "stopped")


def blocks(node):
    """Every block and widget under an AppTest node, depth first."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from blocks(child)


@requires_mnist
def test_a_gaussian_run_has_its_sigma_knob_and_says_why_its_elbo_can_be_positive(runs):
    """Also in projector view: there the buttons and the three knobs stand in one row of
    seven columns, the checkpoint's name and Save button behind a "Save" popover."""
    at = open_page(PAGE, projector=True)
    at.selectbox(key="lab_latent").set_value(2).run()
    assert not any("log of a density" in c.value for c in at.caption)  # Bernoulli: not said
    at.selectbox(key="lab_likelihood").set_value("gaussian").run()
    assert any("log of a density" in c.value for c in at.caption)  # said before it starts
    at.button(key="lab_start").click().run()
    assert at.select_slider(key="lab_sigma").value == pytest.approx(0.1)  # before any report
    wait_until(lambda: (s := runs.status()) and s.step > 10 and s)
    at.run()
    assert not at.exception
    assert at.select_slider(key="lab_sigma").value == pytest.approx(0.1)  # the start value
    captions = [c.value for c in at.caption]
    assert any("log of a density, not of a probability" in c for c in captions)
    status = next(c for c in captions if c.startswith("**running**"))
    assert not re.search(r"-\d", status), status  # true minus signs
    assert r"reconstruction loss ${-\log p(x \mid z)}$" in status  # the logged term, by its sign
    row = next(block for block in blocks(at.main) if len(getattr(block, "children", {})) == 7
               and all(c.type == "column" for c in block.children.values()))
    keys = {getattr(widget, "key", None) for widget in blocks(row)}
    assert {"lab_pause", "lab_stop", "lab_reset", "lab_beta", "lab_sigma",
            "lab_free_bits"} <= keys, keys
    assert at.get("popover") and at.text_input(key="lab_save_name") is not None
    at.button(key="lab_stop").click().run()
    wait_until(lambda: runs.status().state == "stopped")


@requires_mnist
def test_a_second_browser_sees_the_same_run(runs):
    first, second = open_page(PAGE), open_page(PAGE)
    first.button(key="lab_start").click().run()
    second.button(key="lab_start").click().run()  # pressed at nearly the same time
    assert len(runs.runs()) == 1
    second.run()
    assert not second.exception and any(b.key == "lab_stop" for b in second.button)
    # the first turns beta: the second's controls are stale, so its live view (on a timer)
    # redraws its page
    shown = second.session_state[lab_controls.SHOWN]
    assert shown == lab_controls.controls_signature(runs, runs.status())
    first.select_slider(key="lab_beta").set_value(3.0).run()
    assert lab_controls.controls_signature(runs, runs.status()) != shown
    second.run()
    assert second.select_slider(key="lab_beta").value == 3.0
    runs.stop()  # and a stop from elsewhere: no knobs, no live Pause or Stop
    second.run()
    assert not any(s.key == "lab_beta" for s in second.select_slider)
    assert all(b.disabled for b in second.button if b.key in ("lab_pause", "lab_stop"))
    wait_until(lambda: not runs.status().active)  # ended: it offers a new run, in one
    second.run()  # click to the start form
    assert second.button(key="lab_stop").disabled
    second.button(key="lab_new").click().run()
    assert runs.status() is None and any(b.key == "lab_start" for b in second.button)


def test_without_mnist_the_lab_explains(monkeypatch, tmp_path):
    import streamlit as st

    from app_pages.common import load_split
    from explorer import data
    monkeypatch.setattr(data, "data_roots", lambda: [tmp_path])
    load_split.clear()
    try:
        at = open_page(PAGE)
        assert not at.exception and "MNIST" in at.error[0].value
        assert "python -m explorer.data download mnist" in at.error[0].value
        downloads = [b for b in at.button if b.label.startswith("Download MNIST")]
        assert len(downloads) == 2  # in the sidebar and on the page
    finally:
        load_split.clear()
        st.cache_data.clear()


@requires_mnist
def test_a_diverged_run_is_explained_loudly_and_continues_slower(runs):
    runs.start(elbo_lab.LabSettings(latent_dim=2, hidden=16, likelihood="gaussian", sigma=0.03,
                                    learning_rate=1e6, batch_size=64, device="cpu", threads=1,
                                    train_limit=2000, beta=0.0))
    wait_until(lambda: runs.status().state == "failed")
    at = open_page(PAGE)
    assert not at.exception and "NaN/Inf" in at.error[0].value
    assert at.button(key="lab_stop").disabled and at.button(key="lab_new").label == "New run"
    at.button(key="lab_lower_lr").click().run()
    again = runs.status()
    assert again.settings["learning_rate"] == pytest.approx(1e5)
    assert again.settings["sigma"] == pytest.approx(0.03)
    open_tab(at, "lab_tab", "Beta sweep")
    assert not at.exception
    runs.remove()


@requires_mnist  # the lab page stops without MNIST
def test_a_running_sweep_shows_its_progress_and_points_as_they_come(runs, use_tiny_checkpoints):
    from explorer.run_store import RatePoint

    status, created = runs.store.claim(elbo_lab.SWEEP_RUN, "sweep", {"betas": [0.5, 1.0, 4.0]},
                                       max_active=2)  # a sweep's row, without its worker
    assert created
    at = open_tab(open_page(PAGE), "lab_tab", "Beta sweep")
    assert any("0 of 3 betas done" in c.value for c in at.caption)
    assert any("trains a fresh VAE from scratch" in c.value and "300 steps" in c.value
               for c in at.caption)  # the form says what a sweep trains
    at.slider(key="lab_sweep_steps").set_value(1000).run()
    assert any("1,000 steps" in c.value for c in at.caption)
    assert not at.get("plotly_chart")  # no point yet
    runs.store.report(elbo_lab.SWEEP_RUN, status.generation, state="running", step=1)
    runs.store.add_point(RatePoint(4.0, 120.0, 0.5, "sweep beta=0.5", elbo_lab.SWEEP_RUN))
    at.run()  # what the sweep's timer does
    assert any("1 of 3 betas done" in c.value for c in at.caption)
    assert "β=0.5" in at.get("plotly_chart")[0].proto.spec
    runs.store.report(elbo_lab.SWEEP_RUN, status.generation, state="finished", step=3)
    at.run()
    assert not any("betas done" in c.value for c in at.caption) and not at.exception


def test_the_sidebar_leaves_the_runs_to_the_lab_page_which_shows_them_live(runs,
                                                                          use_tiny_checkpoints):
    status, _ = runs.store.claim(elbo_lab.LAB_RUN, "lab", {"betas": []})  # without a worker
    lab = open_page(PAGE)
    assert any("shown live on this page" in m.value for m in lab.sidebar.markdown)
    runs.store.report(elbo_lab.LAB_RUN, status.generation, state="stopped")
    time.sleep(0.25)  # the server's shared read of the runs ages out
    lab.run()  # a stopped run is listed even here: the sidebar never contradicts the page
    assert any("stopped" in m.value for m in lab.sidebar.markdown)
    home = open_page("app_pages/home.py")  # elsewhere the sidebar lists it, with its time
    assert any("ELBO lab run" in m.value and "stopped" in m.value and "`" not in m.value
               for m in home.sidebar.markdown)  # named for people, not by its file


@requires_mnist  # the lab page stops without MNIST
def test_the_sweep_button_waits_while_a_live_run_trains(runs, use_tiny_checkpoints):
    status, _ = runs.store.claim(elbo_lab.LAB_RUN, "lab", {})  # a live run, without a worker
    runs.store.report(elbo_lab.LAB_RUN, status.generation, state="running", step=5)
    at = open_tab(open_page(PAGE), "lab_tab", "Beta sweep")
    assert at.button(key="lab_sweep").disabled  # said before the press, not refused after
    assert any("one run at a time" in i.value for i in at.info)
    runs.store.report(elbo_lab.LAB_RUN, status.generation, state="stopped")
    time.sleep(0.25)  # the server's shared read of the runs ages out
    at.run()
    assert not at.button(key="lab_sweep").disabled and not at.exception

"""AppTest for the ELBO lab: start a tiny run, change beta, see the curve and the marker."""

import time

import pytest

from explorer import elbo_lab
from explorer.training import REGISTRY
from tests.conftest import requires_mnist
from tests.test_app import open_page

PAGE = "app_pages/elbo_lab.py"


@pytest.fixture
def clean_registry():
    REGISTRY.remove(elbo_lab.LAB_RUN)
    yield
    trainer = REGISTRY.get(elbo_lab.LAB_RUN)
    if trainer is not None:
        trainer.stop()
        trainer.join(10)
    REGISTRY.remove(elbo_lab.LAB_RUN)


@requires_mnist
def test_start_change_beta_and_stop(clean_registry, use_tiny_checkpoints):
    at = open_page(PAGE)
    assert not at.exception
    at.selectbox(key="lab_latent").set_value(2).run()
    at.button(key="lab_start").click().run()
    trainer = REGISTRY.get(elbo_lab.LAB_RUN)
    assert trainer is not None and trainer.active
    deadline = time.time() + 30
    while trainer.step < 20 and time.time() < deadline:
        time.sleep(0.1)
    at.select_slider(key="lab_beta").set_value(3.0).run()
    deadline = time.time() + 30
    while not trainer.log.markers() and time.time() < deadline:
        time.sleep(0.1)
    assert trainer.log.markers()[0]["name"] == "beta" and trainer.hyper["beta"] == 3.0
    at.run()
    assert not at.exception
    charts = [c for c in at.get("plotly_chart")]
    assert len(charts) >= 4
    assert any("beta=3" in str(c.proto) for c in charts)  # the marker is on the curves
    at.button(key="lab_stop").click().run()
    trainer.join(10)
    assert trainer.state == "stopped"


@requires_mnist
def test_second_start_gets_the_same_run(clean_registry):
    first, second = open_page(PAGE), open_page(PAGE)
    first.selectbox(key="lab_latent").set_value(2).run()
    first.button(key="lab_start").click().run()
    trainer = REGISTRY.get(elbo_lab.LAB_RUN)
    second.run()  # the other browser now sees the running run's controls, not a new form
    assert not second.exception
    assert any(b.key == "lab_stop" for b in second.button)
    assert REGISTRY.get(elbo_lab.LAB_RUN) is trainer


def test_without_mnist_the_lab_explains(monkeypatch, tmp_path, clean_registry):
    import streamlit as st

    from app_pages.common import load_split
    from explorer import data
    monkeypatch.setattr(data, "data_roots", lambda: [tmp_path])
    load_split.clear()
    try:
        at = open_page(PAGE)
        assert not at.exception and "MNIST" in at.error[0].value
    finally:
        load_split.clear()
        st.cache_data.clear()


@requires_mnist
def test_nan_run_is_explained_and_can_continue_slower(clean_registry):
    from explorer import data
    train = data.load("mnist", "train")
    settings = elbo_lab.LabSettings(latent_dim=2, hidden=16, likelihood="gaussian", sigma=0.03,
                                    learning_rate=1e6, batch_size=64, device="cpu")

    def exploding():
        trainer = elbo_lab.make_trainer(settings, train.images[:2000], train.labels[:2000])
        trainer.hyper["beta"] = 0.0
        return trainer

    trainer = REGISTRY.start(elbo_lab.LAB_RUN, exploding)
    trainer.join(60)
    assert trainer.state == "failed"
    at = open_page(PAGE)
    assert not at.exception and "NaN/Inf" in at.error[0].value
    at.button(key="lab_lower_lr").click().run()
    again = REGISTRY.get(elbo_lab.LAB_RUN)
    assert again is not trainer and again.hyper["learning_rate"] == pytest.approx(1e5)
    assert again.hyper["sigma"] == pytest.approx(0.03)

"""AppTest for the latent space explorer: sliders change the image, every input works,
missing checkpoints and data give messages, not exceptions."""

import shutil

import numpy as np
import pytest

from tests.conftest import requires_mnist
from tests.test_app import open_page, open_tab

PAGE = "app_pages/latent_explorer.py"


def open_server_sliders(browser_failure: str = "forced by the test"):
    """The page with the in-browser decoder reported as failed, so it uses server sliders
    (AppTest has no browser to run the component)."""
    at = open_page(PAGE)
    at.session_state["latent_browser_vae16_mnist:failure"] = browser_failure
    return at.run()


def image_urls(at) -> dict[str, str]:
    return {image.proto.imgs[0].caption: image.proto.imgs[0].url for image in at.image}


def test_moving_a_latent_slider_changes_the_decoded_image(use_tiny_checkpoints):
    at = open_server_sliders()
    assert not at.exception
    assert len([s for s in at.slider if s.key.startswith("lat_vae16_mnist_")]) == 4
    before = image_urls(at)
    slider = at.slider(key="lat_vae16_mnist_0")
    slider.set_value(2.5 if slider.value < 2 else -2.5).run()
    after = image_urls(at)
    assert not at.exception
    assert before["decoded slider values"] != after["decoded slider values"]
    assert before["reconstruction (decoded mean)"] == after["reconstruction (decoded mean)"]


def test_reset_returns_sliders_to_the_encoding(use_tiny_checkpoints):
    at = open_server_sliders()
    at.radio(key="latent_source").set_value("Prior sample").run()
    start = at.slider(key="lat_vae16_mnist_1").value
    at.slider(key="lat_vae16_mnist_1").set_value(3.0).run()
    at.button(key="latent_reset").click().run()
    assert at.slider(key="lat_vae16_mnist_1").value == start


@pytest.mark.parametrize("source", ["Draw", "Upload", "Prior sample"])
def test_sources_without_data_work(use_tiny_checkpoints, source):
    at = open_server_sliders()
    at.radio(key="latent_source").set_value(source).run()
    assert not at.exception
    assert any(s.key.startswith("lat_") for s in at.slider)


def test_prior_seed_moves_the_sliders(use_tiny_checkpoints):
    at = open_server_sliders()
    at.radio(key="latent_source").set_value("Prior sample").run()
    first = [s.value for s in at.slider if s.key.startswith("lat_")]
    at.number_input(key="latent_prior_seed").set_value(7).run()
    second = [s.value for s in at.slider if s.key.startswith("lat_")]
    assert first != second


@requires_mnist
@pytest.mark.parametrize("source", ["Random test image", "Test image of a digit"])
def test_test_image_sources(use_tiny_checkpoints, source):
    at = open_page(PAGE)
    at.radio(key="latent_source").set_value(source).run()
    assert not at.exception
    assert "input" in image_urls(at)
    if source == "Test image of a digit":
        before = image_urls(at)["input"]
        at.selectbox(key="latent_digit").set_value(3).run()
        assert image_urls(at)["input"] != before
    else:
        before = image_urls(at)["input"]
        at.button(key="latent_new_random").click().run()
        at.button(key="latent_new_random").click().run()
        assert not at.exception


@requires_mnist
def test_other_tabs_show_their_numbers(use_tiny_checkpoints):
    at = open_tab(open_page(PAGE), "latent_tab", "Autoencoder vs VAE")
    metrics = [m.label for m in at.metric]
    assert metrics.count("Linear probe accuracy") == 2
    values = [float(m.value.rstrip(" %")) for m in at.metric]
    assert all(0 <= v <= 100 for v in values)
    open_tab(at, "latent_tab", "Traversals")
    at.slider(key="latent_traversal_rows").set_value(2).run()
    grid = next(c for c in at.get("plotly_chart") if '"image"' in c.proto.spec)
    assert grid.proto.spec.count('"z') >= 2 and "−3" in grid.proto.spec  # rows and columns
    # named on the axes: the two dimensions swept and the values
    open_tab(at, "latent_tab", "2-D manifold")
    at.slider(key="latent_manifold_n").set_value(10).run()
    open_tab(at, "latent_tab", "Interpolation & samples")
    at.slider(key="latent_interp_steps").set_value(5).run()
    assert not at.exception


def test_missing_companion_checkpoints_are_reported(tiny_checkpoint_dir, tmp_path, monkeypatch):
    shutil.copy(tiny_checkpoint_dir / "vae16_mnist.pt", tmp_path)
    shutil.copy(tiny_checkpoint_dir / "vae16_mnist.json", tmp_path)
    monkeypatch.setenv("EXPLORER_SHIPPED_CHECKPOINTS", str(tmp_path))
    at = open_tab(open_page(PAGE), "latent_tab", "2-D manifold")
    assert not at.exception
    assert "vae2_mnist" in " ".join(e.value for e in at.error)
    open_tab(at, "latent_tab", "Autoencoder vs VAE")
    assert not at.exception
    assert "ae16_mnist" in " ".join(e.value for e in at.error)


def test_no_checkpoint_at_all(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_SHIPPED_CHECKPOINTS", str(tmp_path))
    at = open_page(PAGE)
    assert not at.exception
    assert "No VAE checkpoint" in at.error[0].value


def test_corrupt_checkpoint_is_a_message(tiny_checkpoint_dir, tmp_path, monkeypatch):
    for suffix in (".pt", ".json"):
        shutil.copy(tiny_checkpoint_dir / f"vae16_mnist{suffix}", tmp_path)
    (tmp_path / "vae16_mnist.pt").write_bytes(b"garbage")
    monkeypatch.setenv("EXPLORER_SHIPPED_CHECKPOINTS", str(tmp_path))
    at = open_page(PAGE)
    assert not at.exception
    assert "truncated or corrupt" in at.error[0].value


def test_without_mnist_the_page_still_works(use_tiny_checkpoints, monkeypatch, tmp_path):
    from explorer import data
    monkeypatch.setattr(data, "data_roots", lambda: [tmp_path])
    data._load_arrays.cache_clear()
    import streamlit as st

    from app_pages.common import load_split
    load_split.clear()
    st.cache_data.clear()
    try:
        at = open_server_sliders()
        assert not at.exception
        assert any("MNIST" in w.value for w in at.warning)
        assert np.isfinite([s.value for s in at.slider if s.key.startswith("lat_")]).all()
    finally:
        load_split.clear()
        st.cache_data.clear()


def test_the_browser_decoder_is_used_unless_it_failed(use_tiny_checkpoints):
    at = open_page(PAGE)
    assert not at.exception
    assert not [s for s in at.slider if s.key.startswith("lat_")]  # the component instead
    at = open_server_sliders("no 2-D canvas")
    assert any("no 2-D canvas" in i.value for i in at.info)
    assert len([s for s in at.slider if s.key.startswith("lat_")]) == 4


@requires_mnist  # the view is drawn from test encodings
def test_no_correlation_heatmap_of_collapsed_dimensions(use_tiny_checkpoints):
    """The tiny untrained VAE has fewer than two active dimensions: the tab says so and
    draws no heatmap of noise."""
    import json

    at = open_tab(open_page(PAGE), "latent_tab", "Independent dimensions")
    assert not at.exception
    kinds = [json.loads(c.proto.spec)["data"][0].get("type") for c in at.get("plotly_chart")]
    assert "heatmap" not in kinds
    assert any("Fewer than two dimensions are active" in c.value for c in at.caption)

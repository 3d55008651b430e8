"""AppTest for the autoregressive page: step pixels, force a value, complete, bad input."""

import shutil

from tests.conftest import requires_mnist
from tests.test_app import open_page

PAGE = "pages/autoregressive.py"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_stepping_fills_pixels_and_the_ledger(use_tiny_checkpoints):
    at = open_page(PAGE)
    assert not at.exception
    assert metric(at, "Pixels sampled") == "0 / 784"
    at.button(key="ar_step").click().run()
    assert metric(at, "Pixels sampled") == "1 / 784"
    bits_one = float(metric(at, "-log2 p so far").split()[0])
    at.button(key="ar_row").click().run()
    assert metric(at, "Pixels sampled") == "28 / 784"
    assert float(metric(at, "-log2 p so far").split()[0]) > bits_one
    assert not at.exception


def test_forcing_a_value_is_recorded(use_tiny_checkpoints):
    at = open_page(PAGE)
    at.button(key="ar_step").click().run()
    at.number_input(key="ar_force_value").set_value(255).run()
    at.button(key="ar_force").click().run()
    assert any("took 255" in c.value and "forced" in c.value for c in at.caption)


def test_run_to_the_end_and_reset(use_tiny_checkpoints):
    at = open_page(PAGE)
    at.selectbox(key="ar_speed").set_value("instant").run()
    at.button(key="ar_run").click().run()
    assert metric(at, "Pixels sampled") == "784 / 784"
    assert at.button(key="ar_step").disabled
    at.button(key="ar_reset").click().run()
    assert metric(at, "Pixels sampled") == "0 / 784"


def test_seed_and_class_changes_restart(use_tiny_checkpoints):
    at = open_page(PAGE)
    at.button(key="ar_row").click().run()
    at.number_input(key="ar_seed").set_value(5).run()
    assert metric(at, "Pixels sampled") == "0 / 784"
    at.button(key="ar_step").click().run()
    at.selectbox(key="ar_class").set_value("7").run()
    assert metric(at, "Pixels sampled") == "0 / 784"
    assert not at.exception


def test_completion_and_other_tabs(use_tiny_checkpoints):
    at = open_page(PAGE)
    at.slider(key="ar_complete_rows").set_value(20).run()
    at.button(key="ar_complete").click().run()
    assert any("completion 4" in (image.proto.imgs[0].caption or "") for image in at.image)
    at.select_slider(key="ar_cost_unit").set_value("4x4 patches").run()
    assert metric(at, "Sequential steps") == f"{1024 * 1024 // 16:,}"
    assert not at.exception


@requires_mnist
def test_likelihood_view_rejects_noise(use_tiny_checkpoints):
    at = open_page(PAGE)
    values = [float(m.value) for m in at.metric if m.label == "bits/dim"]
    assert len(values) >= 4


def test_missing_models_are_messages(tmp_path, monkeypatch, tiny_checkpoint_dir):
    monkeypatch.setenv("EXPLORER_SHIPPED_CHECKPOINTS", str(tmp_path))
    at = open_page(PAGE)
    assert not at.exception and "No autoregressive checkpoint" in at.error[0].value
    for suffix in (".pt", ".json"):
        shutil.copy(tiny_checkpoint_dir / f"masked_pixelcnn_mnist{suffix}", tmp_path)
    at = open_page(PAGE)
    assert not at.exception
    assert any("gated_pixelcnn_mnist" in i.value for i in at.info)

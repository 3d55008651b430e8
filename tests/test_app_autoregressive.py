"""AppTest for the autoregressive page: step pixels, force a value, complete, bad input."""

import shutil

import numpy as np
import pytest

from tests.conftest import requires_mnist
from tests.test_app import open_page, open_tab

PAGE = "app_pages/autoregressive.py"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_stepping_fills_pixels_and_the_ledger(use_tiny_checkpoints):
    at = open_page(PAGE)
    assert not at.exception
    assert metric(at, "Pixels sampled") == "0 / 784"
    at.button(key="ar_step").click().run()
    assert metric(at, "Pixels sampled") == "1 / 784"
    bits_one = float(metric(at, "−log₂ p so far").split()[0])
    at.button(key="ar_row").click().run()
    assert metric(at, "Pixels sampled") == "28 / 784"
    assert float(metric(at, "−log₂ p so far").split()[0]) > bits_one
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
    # one click on Reset brings every step button back (it used to take two)
    for key in ("ar_step", "ar_row", "ar_run"):
        assert not at.button(key=key).disabled, key
    at.button(key="ar_step").click().run()
    assert metric(at, "Pixels sampled") == "1 / 784"


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
    at = open_tab(open_page(PAGE), "ar_tab", "Completion")
    at.slider(key="ar_complete_rows").set_value(20).run()
    at.button(key="ar_complete").click().run()
    assert any("completion 4" in (image.proto.imgs[0].caption or "") for image in at.image)
    shown = [image for image in at.image if "kept: top" in (image.proto.imgs[0].caption or "")
             or "completion" in (image.proto.imgs[0].caption or "")]
    assert len(shown) == 5  # the prompt and four completions
    at.slider(key="ar_complete_rows").set_value(10).run()  # the completions kept 20 rows
    assert any("(of 20 rows)" in (image.proto.imgs[0].caption or "") for image in at.image)
    at.number_input(key="ar_seed").set_value(3).run()  # other settings: not shown as theirs
    assert not any("completion" in (image.proto.imgs[0].caption or "") for image in at.image)
    assert any("made with other settings" in c.value for c in at.caption)
    at.number_input(key="ar_seed").set_value(0).run()  # back: the same ones again
    assert any("completion 4" in (image.proto.imgs[0].caption or "") for image in at.image)
    open_tab(at, "ar_tab", "Cost")
    at.select_slider(key="ar_cost_unit").set_value("4×4 patches").run()
    assert metric(at, "Sequential steps") == f"{1024 * 1024 * 3 // 48:,}"
    open_tab(at, "ar_tab", "Receptive field")
    assert any("earlier pixels influence it" in c.value for c in at.caption)
    assert not at.exception


@requires_mnist
@pytest.mark.parametrize("projector, where", [(False, "Below"), (True, "Beside")])
def test_likelihood_view_rejects_noise(use_tiny_checkpoints, projector, where):
    """The caption says where the bit maps are: under the inputs, or (walk 18) beside them
    on a projector, where it still said "Below"."""
    at = open_tab(open_page(PAGE, projector=projector), "ar_tab", "Likelihood")
    values = [float(m.value) for m in at.metric if m.label == "bits/dim"]
    assert len(values) >= 5
    assert any(f"{where} each input: the bits each pixel costs" in c.value for c in at.caption)


def test_missing_models_are_messages(tmp_path, monkeypatch, tiny_checkpoint_dir):
    monkeypatch.setenv("EXPLORER_SHIPPED_CHECKPOINTS", str(tmp_path))
    at = open_page(PAGE)
    assert not at.exception and "No autoregressive checkpoint" in at.error[0].value
    for suffix in (".pt", ".json"):
        shutil.copy(tiny_checkpoint_dir / f"masked_pixelcnn_mnist{suffix}", tmp_path)
    at = open_tab(open_page(PAGE), "ar_tab", "Receptive field")
    assert not at.exception
    assert any("gated_pixelcnn_mnist" in i.value for i in at.info)


def open_link(params: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGE).run()
    return at


def test_a_link_reproduces_the_sampled_image(use_tiny_checkpoints):
    at = open_page(PAGE)
    at.number_input(key="ar_seed").set_value(5).run()
    at.selectbox(key="ar_class").set_value("7").run()
    at.button(key="ar_row").click().run()
    at.number_input(key="ar_force_value").set_value(200).run()
    at.button(key="ar_force").click().run()
    original = at.session_state["ar_sampler"].image.clone()
    link = {"ar_seed": "5", "ar_class": "7", "ar_steps": "28", "ar_forced": "27:200"}
    again = open_link(link)
    assert not again.exception and metric(again, "Pixels sampled") == "28 / 784"
    assert (again.session_state["ar_sampler"].image == original).all()
    assert not again.info  # no notice for a good link


def test_bad_link_values_fall_back_with_a_notice(use_tiny_checkpoints):
    at = open_link({"ar_seed": "banana", "ar_steps": "lots", "ar_forced": "9:999",
                    "ar_class": "eleven"})
    assert not at.exception
    notice = " ".join(i.value for i in at.info)
    for key in ("ar_seed=banana", "ar_steps=lots", "ar_forced=9:999", "ar_class=eleven"):
        assert key in notice
    assert metric(at, "Pixels sampled") == "0 / 784"


def test_seed_and_pixels_survive_a_trip_to_another_page(use_tiny_checkpoints):
    at = open_page(PAGE)
    at.number_input(key="ar_seed").set_value(5).run()
    at.slider(key="ar_temperature").set_value(0.7).run()
    at.button(key="ar_row").click().run()
    at.switch_page("app_pages/home.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.number_input(key="ar_seed").value == 5
    assert at.slider(key="ar_temperature").value == 0.7
    assert metric(at, "Pixels sampled") == "28 / 784"


def test_the_default_view_shows_what_the_model_draws_with_a_verdict(use_tiny_checkpoints):
    at = open_page(PAGE)
    captions = [c for element in at.get("image") for c in element.captions]
    gallery = [c for c in captions if c.startswith("What this model draws")]
    assert len(gallery) == 1 and "asked for 0 to 9" in gallery[0]  # the gated model
    assert "classifier" in gallery[0]  # its verdict, or that no classifier is available
    at.selectbox(key="ar_model").set_value("masked_pixelcnn_mnist").run()
    captions = [c for element in at.get("image") for c in element.captions]
    assert any("drawn without a class" in c for c in captions)
    assert not at.exception


def test_the_force_box_shows_the_level_of_the_pixel_just_sampled(use_tiny_checkpoints):
    at = open_page(PAGE)
    for _ in range(3):
        at.button(key="ar_step").click().run()
        last = at.session_state["ar_sampler"].history[-1]
        assert at.number_input(key="ar_force_value").value == last.value
    at.number_input(key="ar_force_value").set_value(17).run()  # typing is not undone
    assert at.number_input(key="ar_force_value").value == 17
    at.button(key="ar_force").click().run()
    assert at.session_state["ar_sampler"].history[-1].value == 17
    assert at.number_input(key="ar_force_value").value == 17


def test_an_undertrained_model_says_so(tiny_checkpoint_dir, tmp_path, monkeypatch):
    import json
    import shutil

    for accuracy, warned in ((0.12, True), (0.935, False)):
        folder = shutil.copytree(tiny_checkpoint_dir, tmp_path / f"shipped_{accuracy}")
        card_path = folder / "gated_pixelcnn_mnist.json"
        card = json.loads(card_path.read_text())
        card_path.write_text(json.dumps({**card, "sample_class_accuracy": accuracy}))
        monkeypatch.setenv("EXPLORER_SHIPPED_CHECKPOINTS", str(folder))
        at = open_page(PAGE)
        assert not at.exception
        assert any("undertrained" in w.value for w in at.warning) == warned


def test_an_unconditional_model_shows_no_class(use_tiny_checkpoints):
    at = open_page(PAGE)
    at.selectbox(key="ar_class").set_value("3").run()
    at.selectbox(key="ar_model").set_value("masked_pixelcnn_mnist").run()
    box = at.selectbox(key="ar_class_none")
    assert box.value == "none" and box.disabled  # not the "3" it would ignore
    assert not at.exception


def test_in_projector_view_the_words_follow_the_bars(use_tiny_checkpoints):
    """On a projector the sampled pixel's words come after its 256 bars (so the bars start on
    the first screen) and the log-scale switch still works; on a laptop they come before."""
    for projector in (False, True):
        at = open_page(PAGE, projector=projector)
        at.button(key="ar_step").click().run()
        flat = list(_walk(at.main))  # what the page shows, top to bottom
        chart = next(i for i, e in enumerate(flat) if e.type == "plotly_chart")
        words = next(i for i, e in enumerate(flat) if e.type == "caption"
                     and "Pixel 0, counted from 0" in e.value)
        assert (words > chart) == projector, projector
        at.toggle(key="ar_log_scale").set_value(True).run()
        assert not at.exception
        figure = next(e for e in _walk(at.main) if e.type == "plotly_chart")
        assert '"type":"log"' in figure.proto.spec.replace(" ", "")


def _walk(node):
    """Every element under `node`, in the order the page shows them."""
    children = getattr(node, "children", None)
    if not children:
        yield node
        return
    for child in children.values():
        yield from _walk(child)


def test_guidance_needs_a_class_and_steers_the_sampler(use_tiny_checkpoints):
    """Guidance is off (disabled) without a class; with one, the steps sample the guided
    distribution, drawn beside the model's own p (test_links: it lives in the link)."""
    at = open_page(PAGE)
    assert at.slider(key="ar_guidance").disabled  # class "none": nothing to steer towards
    at.selectbox(key="ar_class").set_value("3").run()
    at.slider(key="ar_guidance").set_value(2.0).run()
    assert not at.slider(key="ar_guidance").disabled
    at.button(key="ar_step").click().run()
    assert not at.exception
    assert at.session_state.ar_sampler.guidance == 2.0
    last = at.session_state.ar_sampler.history[-1]
    assert not np.allclose(last.probabilities, last.model_probabilities)  # it steered
    figure = next(e for e in _walk(at.main) if e.type == "plotly_chart")
    assert "the model's own p" in figure.proto.spec  # drawn beside what was sampled
    completion = open_tab(at, "ar_tab", "Completion")  # completions are guided alike
    assert any("guidance w = 2." in c.value for c in completion.caption)
    open_tab(at, "ar_tab", "Sample")
    at.selectbox(key="ar_class").set_value("none").run()
    assert at.slider(key="ar_guidance").disabled
    assert at.session_state.ar_sampler.guidance == 0.0

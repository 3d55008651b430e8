"""AppTest for the foundations pages: every control changes the picture; bad input is a
message."""

import json
import re

import pytest

from explorer import gen_disc
from tests.conftest import requires_mnist
from tests.test_app import open_page, open_tab


def all_charts(at) -> list[str]:
    return [str(c.proto.spec) if hasattr(c.proto, "spec") else str(c.proto)
            for c in at.get("plotly_chart")]


def test_density_controls_change_the_view():
    at = open_page("app_pages/density.py")
    assert not at.exception
    for tab, change in (("1-D fits", lambda: at.slider(key="dens_bin").set_value(1.0)),
                        ("1-D fits", lambda: at.slider(key="dens_bandwidth").set_value(0.05)),
                        ("1-D fits", lambda: at.selectbox(key="dens_truth").set_value("skewed")),
                        ("Density as a budget",
                         lambda: at.slider(key="dens_bump_mass").set_value(0.6)),
                        ("Density as a budget",
                         lambda: at.select_slider(key="dens_bump_at").set_value(-2.5)),
                        ("Density as a budget",
                         lambda: at.select_slider(key="dens_logit").set_value(-4.0)),
                        ("The log trick", lambda: at.slider(key="dens_log_n").set_value(1500)),
                        ("2-D and the chain rule",
                         lambda: at.selectbox(key="dens_toy").set_value("rings")),
                        ("2-D and the chain rule",
                         lambda: at.select_slider(key="dens_slice").set_value(3))):
        open_tab(at, "dens_tab", tab)
        before = all_charts(at)
        change().run()
        after = all_charts(at)
        assert after != before and not at.exception, tab


def test_sliders_across_zero_write_a_true_minus():
    at = open_tab(open_page("app_pages/density.py"), "dens_tab", "Density as a budget")
    for key, low in (("dens_bump_at", "−6.0"), ("dens_logit", "−5.0")):
        slider = at.select_slider(key=key)
        assert slider.options[0] == low and "-" not in "".join(slider.options), key
    at.select_slider(key="dens_bump_at").set_value(-0.3).run()
    assert at.select_slider(key="dens_bump_at").value == -0.3 and not at.exception


def test_mixture_steps_raise_the_curve():
    at = open_page("app_pages/density.py")
    assert any("No mixture curve yet" in c.value for c in at.caption)  # says what to press
    at.button(key="dens_step1").click().run()
    assert not any("No mixture curve yet" in c.value for c in at.caption)
    assert any(m.label == "mixture MLE (1 step)" for m in at.metric)  # not "1 steps"
    at.button(key="dens_step50").click().run()
    assert not at.exception
    mixture = at.session_state["dens_mixture"]
    assert mixture.steps_taken == 51
    assert mixture.history[-1][1] >= mixture.history[0][1]
    stale = "the curve's last point scored those of step 51"
    assert not any(stale in c.value for c in at.caption)  # the metric is the curve's end
    at.session_state["dens_placed"] = [5.5, 5.7]  # two clicks far in the tail
    at.run()
    assert any(stale in c.value and "62 training samples now" in c.value
               for c in at.caption)  # says why the metric and the curve's end differ
    at.button(key="dens_step1").click().run()
    assert not any("the curve's last point scored" in c.value for c in at.caption)


def test_log_trick_numbers():
    at = open_tab(open_page("app_pages/density.py"), "dens_tab", "The log trick")
    at.slider(key="dens_log_n").set_value(2000).run()
    product = next(m.value for m in at.metric if "prod" in m.label)
    assert float(product) == 0.0
    log_sum = next(m.value for m in at.metric if "sum" in m.label)
    assert log_sum.endswith(" nats") and log_sum.startswith("−")  # a true minus sign
    assert float(log_sum.split()[0].replace("−", "-").replace(",", "")) < -1000
    assert "," in log_sum  # thousands separated, as the app's counts are
    at.slider(key="dens_log_n").set_value(20).run()
    product = next(m.value for m in at.metric if "prod" in m.label)
    assert "× 10⁻" in product and "e-" not in product  # in powers of ten, as typeset


def test_density_bad_inputs_are_messages():
    at = open_page("app_pages/density.py")
    at.number_input(key="dens_components").set_value(50).run()  # the largest allowed
    assert not at.exception
    at.number_input(key="dens_components").set_value(2).run()
    at.number_input(key="dens_count").set_value(0).run()
    assert any("at least 1" in w.value for w in at.warning)
    at.number_input(key="dens_count").set_value(1).run()
    open_tab(at, "dens_tab", "2-D and the chain rule")
    at.number_input(key="dens_toy_n").set_value(0).run()
    assert not at.exception and at.warning


def bayes_table_shown(at) -> dict[str, list[str]]:
    """The Bayes table the page shows, read back from its Markdown: header -> cells."""
    text = next(m.value for m in at.markdown if m.value.startswith("| class $y$"))
    rows = [[c.strip() for c in line.strip("|").split(" | ")] for line in text.splitlines()]
    return {header: [row[i] for row in rows[2:]] for i, header in enumerate(rows[0])}


def test_gen_vs_disc_renders_and_reacts():
    at = open_page("app_pages/gen_vs_disc.py")
    assert not at.exception
    table = bayes_table_shown(at)  # typeset: a Markdown table with $...$ headers
    assert table[gen_disc.P_X_GIVEN_Y] == table[gen_disc.BAYES]
    for column in list(table)[1:]:  # one number format per column, never Python's 1e-05
        texts = [t for t in table[column] if t != "0"]
        if any("×" in t for t in texts):  # powers of ten (10⁰ written as the plain mantissa)
            assert all(re.fullmatch(r"−?\d\.\d\d( × 10[⁻¹²³⁴⁵⁶⁷⁸⁹⁰]+)?", t) for t in texts), texts
        else:  # three decimals
            assert all(re.fullmatch(r"\d\.\d{3}", t) for t in texts), texts
    assert any("Bayes' rule recovers" in c.value for c in at.caption)
    assert not any("p(x|y)" in m.value for m in [*at.markdown, *at.caption])  # no plain math

    def verdict() -> str:  # the line above the plots: what the cross's point gives
        return next(m.value for m in at.markdown if "At the cross" in m.value)

    far = verdict()
    at.session_state["gvd_point"] = (0.0, 0.5)  # as a click on the left chart sets it
    at.run()
    assert verdict() != far  # p(x) and the classes there
    before = all_charts(at)
    at.slider(key="gvd_bandwidth").set_value(0.8).run()
    assert all_charts(at) != before
    assert not any("means *not class 1*" in c.value for c in at.caption)
    at.selectbox(key="gvd_toy").set_value("mixture").run()
    assert not at.exception and len(bayes_table_shown(at)["class $y$"]) == 3
    assert any("With 3 classes, red on the left means *not class 1*" in c.value
               for c in at.caption)  # the red region holds two classes' points
    at.number_input(key="gvd_count").set_value(1).run()
    assert not at.exception and at.warning


@requires_mnist
def test_gen_vs_disc_images_tab(use_tiny_checkpoints):
    at = open_tab(open_page("app_pages/gen_vs_disc.py"), "gvd_tab", "Images")
    assert not at.exception

    def pictures() -> list[list[tuple[str, str]]]:  # each chart's inputs: (bar, picture)
        charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        return [[(i["x"], i["source"]) for i in c["layout"]["images"]] for c in charts]

    shown = pictures()  # the inputs under their bars, in both charts
    assert len(shown) == 2 and shown[0] == shown[1]
    assert [bar for bar, _ in shown[0]] == ["test digit", "noise", "scribble", "blank"]
    assert any(re.search(r"gated PixelCNN, gated_pixelcnn_mnist \(\d+\.\d{3} bits/dim", c.value)
               for c in at.caption)  # which model rates them, and how good it is
    at.number_input(key="gvd_scribble").set_value(3).run()
    assert not at.exception
    changed = pictures()[0]  # a new scribble and noise; the digit and the blank stay
    assert [a == b for a, b in zip(shown[0], changed)] == [True, False, False, True]
    # the same test digit as the PixelCNN page's Likelihood tab, at the same cost under the
    # same model (walk 19: a "2" here, a "7" there, both called "test digit")
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)  # the right chart: bits/dim
    assert spec["layout"]["yaxis"]["title"]["text"] == "bits/dim"
    bits = spec["data"][0]["y"][0]
    ar = open_tab(open_page("app_pages/autoregressive.py"), "ar_tab", "Likelihood")
    first = next(float(m.value) for m in ar.metric if m.label == "bits/dim")
    assert first == pytest.approx(bits, rel=2e-3), (first, bits)  # as shown: 3 figures


def test_two_d_mixture_fit_and_bad_component_count():
    at = open_tab(open_page("app_pages/density.py"), "dens_tab", "2-D and the chain rule")
    at.radio(key="dens_2d_estimator").set_value("Gaussian mixture by MLE").run()
    assert not at.exception
    at.number_input(key="dens_2d_components").set_value(50).run()
    assert not at.exception and at.get("plotly_chart")


def test_the_chain_rule_factors_the_estimator_shown():
    at = open_tab(open_page("app_pages/density.py"), "dens_tab", "2-D and the chain rule")

    def chain_chart():
        return next(str(c.proto.spec) for c in at.get("plotly_chart")
                    if "p(x₁)" in str(c.proto.spec))

    kde = chain_chart()
    assert any("the KDE" in c.value for c in at.caption)
    at.radio(key="dens_2d_estimator").set_value("Gaussian mixture by MLE").run()
    assert not at.exception and chain_chart() != kde
    assert any("the 6-component mixture" in c.value for c in at.caption)
    at.number_input(key="dens_2d_components").set_value(1).run()
    one = chain_chart()
    assert one != kde  # one Gaussian: a different factorisation again


def test_the_chain_rule_slider_names_x1_and_survives_fewer_bins():
    at = open_tab(open_page("app_pages/density.py"), "dens_tab", "2-D and the chain rule")
    at.select_slider(key="dens_slice").set_value(15).run()
    assert "x₁" in at.select_slider(key="dens_slice").label
    at.slider(key="dens_bins").set_value(4).run()  # the chosen bin no longer exists
    assert not at.exception and at.select_slider(key="dens_slice").value == 2


def test_the_chosen_slice_is_outlined_on_the_joint():
    """The strip p(x2 | x1) is read from is drawn on the joint, at the chosen bin's edges."""
    at = open_tab(open_page("app_pages/density.py"), "dens_tab", "2-D and the chain rule")

    def strip():
        joint = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                     if "p(x₁, x₂)" in c.proto.spec)
        (shape,) = joint["layout"]["shapes"]
        return shape["x0"], shape["x1"]

    at.slider(key="dens_bins").set_value(10).run()
    at.select_slider(key="dens_slice").set_value(0).run()
    low, high = strip()
    at.select_slider(key="dens_slice").set_value(9).run()
    assert not at.exception
    last_low, last_high = strip()
    assert last_high - last_low == pytest.approx(high - low)  # one bin wide
    assert last_low - low == pytest.approx(9 * (high - low))  # nine bins to the right


def test_an_almost_empty_strip_says_its_conditional_is_a_renormalised_tail():
    at = open_tab(open_page("app_pages/density.py"), "dens_tab", "2-D and the chain rule")
    tail = lambda: [c.value for c in at.caption if "of the mass" in c.value]  # noqa: E731
    assert not tail()  # the middle strip, where the moons lie
    at.select_slider(key="dens_slice").set_value(0).run()  # x1 = −2.85: no data there
    (note,) = tail()
    share = float(re.search(r"holds ([\d.]+)%", note).group(1))
    assert share < 1.0 and "scaled up" in note

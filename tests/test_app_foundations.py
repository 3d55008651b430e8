"""AppTest for the foundations pages: every control changes the picture; bad input is a
message."""

from tests.conftest import requires_mnist
from tests.test_app import open_page


def all_charts(at) -> list[str]:
    return [str(c.proto.spec) if hasattr(c.proto, "spec") else str(c.proto)
            for c in at.get("plotly_chart")]


def test_density_controls_change_the_view():
    at = open_page("app_pages/density.py")
    assert not at.exception
    before = all_charts(at)
    for change in (lambda: at.slider(key="dens_bin").set_value(1.0),
                   lambda: at.slider(key="dens_bandwidth").set_value(0.05),
                   lambda: at.selectbox(key="dens_truth").set_value("skewed"),
                   lambda: at.slider(key="dens_bump_mass").set_value(0.6),
                   lambda: at.slider(key="dens_log_n").set_value(1500),
                   lambda: at.selectbox(key="dens_toy").set_value("rings"),
                   lambda: at.slider(key="dens_slice").set_value(3)):
        change().run()
        after = all_charts(at)
        assert after != before and not at.exception
        before = after


def test_mixture_steps_raise_the_curve():
    at = open_page("app_pages/density.py")
    at.button(key="dens_step1").click().run()
    at.button(key="dens_step50").click().run()
    assert not at.exception
    mixture = at.session_state["dens_mixture"]
    assert mixture.steps_taken == 51
    assert mixture.history[-1][1] >= mixture.history[0][1]


def test_log_trick_numbers():
    at = open_page("app_pages/density.py")
    at.slider(key="dens_log_n").set_value(2000).run()
    product = next(m.value for m in at.metric if m.label.startswith("prod_i"))
    assert float(product) == 0.0


def test_density_bad_inputs_are_messages():
    at = open_page("app_pages/density.py")
    at.number_input(key="dens_components").set_value(1000).run()
    assert any("between 1 and 50" in w.value for w in at.warning)
    at.number_input(key="dens_components").set_value(2).run()
    at.number_input(key="dens_count").set_value(0).run()
    assert any("at least 1" in w.value for w in at.warning)
    at.number_input(key="dens_count").set_value(1).run()
    at.number_input(key="dens_toy_n").set_value(0).run()
    assert not at.exception


def test_gen_vs_disc_renders_and_reacts():
    at = open_page("app_pages/gen_vs_disc.py")
    assert not at.exception
    table = at.dataframe[0].value
    assert "p(y|x) p(x) / p(y)" in table.columns
    assert list(table["p(x|y)"]) == list(table["p(y|x) p(x) / p(y)"])
    before = all_charts(at)
    at.slider(key="gvd_bandwidth").set_value(0.8).run()
    assert all_charts(at) != before
    at.selectbox(key="gvd_toy").set_value("mixture").run()
    assert not at.exception and len(at.dataframe[0].value) == 3
    at.number_input(key="gvd_count").set_value(1).run()
    assert not at.exception and at.warning


@requires_mnist
def test_gen_vs_disc_images_tab(use_tiny_checkpoints):
    at = open_page("app_pages/gen_vs_disc.py")
    assert not at.exception
    at.number_input(key="gvd_scribble").set_value(3).run()
    assert not at.exception


def test_two_d_mixture_fit_and_bad_component_count():
    at = open_page("app_pages/density.py")
    at.radio(key="dens_2d_estimator").set_value("Gaussian mixture by MLE").run()
    assert not at.exception
    at.number_input(key="dens_2d_components").set_value(1000).run()
    assert any("between 1 and 50" in w.value for w in at.warning)

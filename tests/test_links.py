"""Every page's state survives a trip to another page, and its link reproduces it; bad link
values fall back to defaults with a one-line notice, never an exception."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import requires_mnist
from tests.test_app import APP, open_page

HOME = "app_pages/home.py"

# page -> (widget kind, key, a non-default value that a link carries as this text)
STATE = {
    "app_pages/density.py": [("selectbox", "dens_truth", "skewed", "skewed"),
                             ("number_input", "dens_count", 123, "123"),
                             ("slider", "dens_bandwidth", 0.55, "0.55")],
    "app_pages/gen_vs_disc.py": [("selectbox", "gvd_toy", "rings", "rings"),
                                 ("slider", "gvd_bandwidth", 0.8, "0.8")],
    "app_pages/autoregressive.py": [("number_input", "ar_seed", 9, "9"),
                                    ("slider", "ar_temperature", 1.5, "1.5"),
                                    ("toggle", "ar_greedy", True, "true"),
                                    ("selectbox", "ar_class", "3", "3"),
                                    ("slider", "ar_guidance", 2.0, "2.0")],
    "app_pages/latent_explorer.py": [("radio", "latent_source", "Prior sample",
                                      "Prior sample")],
    "app_pages/elbo_lab.py": [("selectbox", "lab_latent", 4, "4"),
                              ("selectbox", "lab_likelihood", "gaussian", "gaussian")],
}
BAD = {"app_pages/density.py": {"dens_count": "many", "dens_placed": "1,x"},
       "app_pages/gen_vs_disc.py": {"gvd_toy": "donuts", "gvd_point": "1"},
       "app_pages/autoregressive.py": {"ar_temperature": "hot", "ar_steps": "-3"},
       "app_pages/latent_explorer.py": {"latent_source": "webcam", "latent_z": "1,2"},
       "app_pages/elbo_lab.py": {"lab_latent": "3000"}}


@pytest.fixture(autouse=True)
def fresh_run_store(tmp_path, monkeypatch):
    """An empty run store: with a run in it the lab shows that run's controls, not the
    start form whose controls these tests set."""
    monkeypatch.setenv("EXPLORER_RUNS", str(tmp_path / "runs"))


def widget(at, kind, key):
    return getattr(at, kind)(key=key)


def open_link(path, params):
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if path != HOME:
        at.switch_page(path).run()
    return at


@requires_mnist
@pytest.mark.parametrize("path", STATE)
def test_state_survives_a_trip_to_another_page(path, use_tiny_checkpoints):
    at = open_page(path)
    for kind, key, value, _ in STATE[path]:
        widget(at, kind, key).set_value(value).run()
    at.switch_page(HOME).run()
    at.switch_page(path).run()
    assert not at.exception
    for kind, key, value, _ in STATE[path]:
        assert widget(at, kind, key).value == value, key


@requires_mnist
@pytest.mark.parametrize("path", STATE)
def test_a_link_reproduces_the_controls(path, use_tiny_checkpoints):
    at = open_link(path, {key: text for _, key, _, text in STATE[path]})
    assert not at.exception and not any("could not be used" in i.value for i in at.info)
    for kind, key, value, _ in STATE[path]:
        assert widget(at, kind, key).value == value, key


@requires_mnist
@pytest.mark.parametrize("path", BAD)
def test_bad_link_values_fall_back_with_a_notice(path, use_tiny_checkpoints):
    at = open_link(path, BAD[path])
    assert not at.exception
    notice = " ".join(i.value for i in at.info)
    for key, text in BAD[path].items():
        assert f"{key}={text}" in notice, (key, notice)


def test_home_link_picks_the_family():
    at = open_link(HOME, {"taxonomy_pick": "Diffusion models"})  # the label shown
    assert not at.exception
    assert "### Diffusion models" in [m.value for m in at.markdown]

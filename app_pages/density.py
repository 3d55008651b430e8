"""Density estimation and maximum likelihood: histograms, KDE, a mixture fitted step by
step, the log trick, density as a budget of mass, and the 2-D chain rule."""

import numpy as np
import streamlit as st

from app_pages import caches, density_views, links
from app_pages.common import chart, intro, keep, lazy_tabs
from explorer import density, selection, synthetic
from explorer.figures import (
    make_density_1d_figure,
    make_line_figure,
    signed,
)

GRID = np.linspace(-8, 8, 801)
TABS = ["1-D fits", "The log trick", "Density as a budget", "2-D and the chain rule"]

st.title("Density estimation")
intro(
    "A density $p(x)$ is a budget of one unit of probability mass spread over the inputs: more "
    "mass here means less there. Fitting one means choosing where the mass goes so that the "
    "data look likely. That is maximum likelihood: maximise the average log-likelihood,",
    r"\hat\theta = \arg\max_\theta \frac{1}{N}\sum_{i=1}^{N} \log p_\theta(x_i)")


def add_sample(x: float) -> None:
    st.session_state.setdefault("dens_placed", []).append(float(x))


@st.fragment
def fits_tab() -> None:
    """Histogram, KDE and a mixture fitted by gradient ascent; click to add samples."""
    # the controls beside the chart, so the chart is in view with them on a projector
    plot, controls = st.columns([2, 1], gap="medium")
    truth = controls.selectbox("True density", list(synthetic.DENSITIES_1D), key="dens_truth",
                               **keep())
    a, b = controls.columns(2)
    count = int(a.number_input("Training samples", 0, 5000, 60, key="dens_count", **keep()))
    seed = int(b.number_input("Seed", 0, 10**6, 0, key="dens_seed", **keep()))
    train, held_out = caches.draw_samples(truth, count, seed)
    placed = st.session_state.setdefault("dens_placed", [])
    arrived, problem = links.consume("dens_placed", density.parse_points)
    if arrived:
        placed[:] = arrived
    st.session_state.dens_link_problem = problem
    train = np.concatenate([train, placed])
    a, b = controls.columns(2)
    bin_width = a.slider("Histogram bin width", 0.05, 3.0, 0.5, 0.05, key="dens_bin", **keep())
    bandwidth = b.slider("KDE bandwidth", 0.01, 2.0, 0.3, 0.01, key="dens_bandwidth", **keep())
    components = int(controls.number_input("Mixture components", 1, density.MAX_COMPONENTS, 3,
                                           key="dens_components", **keep()))
    curves = {"true density": np.exp(synthetic.DENSITIES_1D[truth].log_density(GRID))}
    try:
        mixture = density.session_mixture(st.session_state, (truth, count, seed, components),
                                          components)
        curves["histogram"] = density.histogram_density(train, bin_width, GRID)
        curves["KDE"] = density.kde(train, bandwidth, GRID)
        buttons = controls.container(horizontal=True)
        one, fifty = buttons.button("1 gradient step", key="dens_step1"), \
            buttons.button("50 steps", key="dens_step50")
        steps = 1 if one else 50 if fifty else 0
        if buttons.button("Restart the fit", key="dens_restart"):
            mixture.initialise(train)
        for _ in range(steps):
            mixture.step(train, held_out)
        if mixture.params is not None:
            taken = mixture.steps_taken
            curves[f"mixture MLE ({taken} step{'s' if taken != 1 else ''})"] = \
                mixture.density(GRID)
        else:
            controls.caption(f"No mixture curve yet: press **1 gradient step** or **50 steps** "
                             f"to fit {components} Gaussian{'s' if components > 1 else ''} by "
                             "gradient ascent on the mean log-likelihood.")
    except density.DensityInputError as exc:
        controls.warning(str(exc))
        mixture = None
    with plot:
        event = chart(make_density_1d_figure(GRID, curves, train, held_out), key="dens_chart",
                      filename=f"density_fits_{truth}", on_select="rerun",
                      selection_mode="points", projector_height=560)
    point = selection.clicked_xy(event, from_customdata=False)  # any column, curve or rug
    # a chart keeps its selection across reruns: only a click at a new x is a new sample
    if point is not None and st.session_state.get("dens_last_click") != point[0]:
        st.session_state.dens_last_click = point[0]
        add_sample(point[0])
        st.rerun(scope="fragment")
    plot.caption(f"Click anywhere on the chart to add a training sample at that x "
                 f"({len(placed)} placed). Orange ticks are held-out samples from the same "
                 "truth." + (" The mixture keeps its fit and its next steps include the new "
                             "samples." if placed and mixture is not None
                             and mixture.params is not None else ""))
    links.put(dens_placed=density.format_points(placed))
    if placed:
        plot.button("Remove placed samples", key="dens_clear", on_click=placed.clear)
    scores = density.fit_scores({k: v for k, v in curves.items() if k != "true density"},
                                GRID, train, held_out)
    st.caption("Mean log p per sample, in nats: on the training samples / on held-out ones.")
    for column, (name, (on_train, on_test)) in zip(st.columns(3), scores.items()):
        column.metric(name, f"{signed(on_train)} / {signed(on_test)}",
                      help="Average log-likelihood per sample in nats. A gap (train much higher) "
                           "means overfitting; −∞ means a held-out point got zero density.")
    if mixture is not None and mixture.history:
        steps_done, train_ll, test_ll = zip(*mixture.history)
        # a short rotated title: a long one is cut at both ends when the chart is short
        chart(make_line_figure(steps_done, {"train": train_ll, "held-out": test_ll},
                               "gradient step", "nats per sample",
                               title="Mean log-likelihood of the mixture"),
              key="dens_ll_curve", filename="mixture_log_likelihood")
        now = mixture.log_likelihood(train)  # exact, as the curve's points are
        if abs(now - train_ll[-1]) > 1e-6:  # samples added since the last step
            st.caption(f"The metric above scores the {len(train)} training samples now "
                       f"({signed(now)} nats); the curve's last point scored those of step "
                       f"{steps_done[-1]} ({signed(train_ll[-1])} nats). The next step fits "
                       "the new ones too.")


tabs = lazy_tabs(TABS, key="dens_tab")
for tab, view in zip(tabs, (fits_tab, density_views.log_trick_tab, density_views.budget_tab,
                            density_views.two_d_tab)):
    with tab:
        if tab.open:
            view()
links.check(["dens_truth", "dens_count", "dens_seed", "dens_bin", "dens_bandwidth",
             "dens_components", "dens_log_n", "dens_bump_at", "dens_bump_mass", "dens_logit",
             "dens_toy", "dens_toy_n", "dens_bins", "dens_2d_estimator", "dens_tab"],
            problems=[st.session_state.pop("dens_link_problem", None)])

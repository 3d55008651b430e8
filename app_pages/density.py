"""Density estimation and maximum likelihood: histograms, KDE, a mixture fitted step by
step, the log trick, density as a budget of mass, and the 2-D chain rule."""

import numpy as np
import streamlit as st

from explorer import density, synthetic
from explorer.figures import (
    make_bar_figure,
    make_contour_figure,
    make_density_1d_figure,
    make_line_figure,
)

GRID = np.linspace(-8, 8, 801)

st.title("Density estimation")
st.markdown(
    "A density p(x) is a budget of one unit of probability mass spread over the inputs: more "
    "mass here means less there. Fitting one means choosing where the mass goes so that the "
    "data look likely, which is maximum likelihood: maximise the average log p(x_i).")

one_d, log_tab, budget_tab, two_d = st.tabs(
    ["1-D fits", "The log trick", "Density as a budget", "2-D and the chain rule"])


@st.cache_data
def draw_samples(name: str, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    truth = synthetic.DENSITIES_1D[name]
    return truth.sample(count, seed), truth.sample(count, seed + 10_000)


@st.cache_data(show_spinner="Fitting the mixture (150 gradient steps)...")
def mixture_2d(toy: str, count: int, components: int) -> np.ndarray:
    points, _ = synthetic.sample_2d(toy, count, seed=0)
    mixture = density.GaussianMixture(components, dims=2)
    for _ in range(150):
        mixture.step(points)
    return mixture.density(synthetic.Grid2D(-3, 3, 70).points())


with one_d:
    a, b, c = st.columns(3)
    truth_name = a.selectbox("True density", list(synthetic.DENSITIES_1D), key="dens_truth")
    count = b.number_input("Training samples", 0, 5000, 60, key="dens_count")
    seed = c.number_input("Seed", 0, 10**6, 0, key="dens_seed")
    train, held_out = draw_samples(truth_name, int(count), int(seed))
    placed = st.session_state.setdefault("dens_placed", [])
    train = np.concatenate([train, placed])
    a, b, c = st.columns(3)
    bin_width = a.slider("Histogram bin width", 0.05, 3.0, 0.5, 0.05, key="dens_bin")
    bandwidth = b.slider("KDE bandwidth", 0.01, 2.0, 0.3, 0.01, key="dens_bandwidth")
    components = c.number_input("Mixture components", 1, 1000, 3, key="dens_components")
    curves = {"true density": np.exp(synthetic.DENSITIES_1D[truth_name].log_density(GRID))}
    try:
        curves["histogram"] = density.histogram_density(train, bin_width, GRID)
        curves["KDE"] = density.kde(train, bandwidth, GRID)
        key = (truth_name, int(count), int(seed), int(components), len(placed))
        if st.session_state.get("dens_mixture_key") != key:
            st.session_state.dens_mixture_key = key
            st.session_state.dens_mixture = density.GaussianMixture(int(components), seed=0)
        mixture: density.GaussianMixture = st.session_state.dens_mixture
        x, y, z = st.columns(3)
        one, fifty = x.button("1 gradient step", key="dens_step1"), \
            y.button("50 steps", key="dens_step50")
        steps = 1 if one else 50 if fifty else 0
        if z.button("Restart the fit", key="dens_restart"):
            mixture.initialise(train)
        for _ in range(steps):
            mixture.step(train, held_out)
        if mixture.params is not None:
            curves[f"mixture MLE ({mixture.steps_taken} steps)"] = mixture.density(GRID)
    except density.DensityInputError as exc:
        st.warning(str(exc))
        mixture = None
    event = st.plotly_chart(make_density_1d_figure(GRID, curves, train, held_out),
                            on_select="rerun", selection_mode="points", key="dens_chart",
                            config={"displayModeBar": False}, theme=None)
    clicked = [p.get("customdata") for p in (event.selection.points if event else [])
               if isinstance(p.get("customdata"), (int, float))]
    if clicked and st.session_state.get("dens_last_click") != clicked[0]:
        st.session_state.dens_last_click = clicked[0]
        placed.append(float(clicked[0]))
        st.rerun()
    st.caption(f"Click on the x axis to add a training sample ({len(placed)} placed). "
               "Orange ticks are held-out samples from the same truth.")
    if placed and st.button("Remove placed samples", key="dens_clear"):
        placed.clear()
        st.rerun()
    scores = {}
    for name in ("histogram", "KDE"):
        if name in curves and len(held_out):
            scores[name] = (density.average_log_likelihood(np.interp(train, GRID, curves[name])),
                            density.average_log_likelihood(np.interp(held_out, GRID, curves[name])))
    for column, (name, (on_train, on_test)) in zip(st.columns(3), scores.items()):
        column.metric(f"{name}: mean log p, train / held-out", f"{on_train:.2f} / {on_test:.2f}",
                      help="Average log-likelihood in nats. A gap (train much higher) means "
                           "overfitting; -inf means a held-out point got zero density.")
    if mixture is not None and mixture.history:
        steps_done, train_ll, test_ll = zip(*mixture.history)
        st.plotly_chart(make_line_figure(steps_done, {"train": train_ll, "held-out": test_ll},
                                         "gradient step", "mean log-likelihood, nats"),
                        key="dens_ll_curve", config={"displayModeBar": False}, theme=None)

with log_tab:
    n = st.slider("Number of samples N", 1, 2000, 200, key="dens_log_n")
    likelihoods = np.exp(synthetic.DENSITIES_1D["two bumps"].log_density(
        synthetic.DENSITIES_1D["two bumps"].sample(n, 1)))
    product, log_sum = density.log_trick(likelihoods)
    a, b = st.columns(2)
    a.metric("prod_i p(x_i) in float32", f"{product[-1]:.3g}",
             help="Multiplying N numbers below 1 underflows to exactly 0 after a few hundred.")
    b.metric("sum_i log p(x_i)", f"{log_sum[-1]:.1f}", help="The same quantity in log space "
             "stays a finite number: maximise this instead.")
    st.plotly_chart(make_line_figure(np.arange(1, n + 1), {"product (float32)": product + 1e-45},
                                     "N", "running product (log scale)", log_y=True),
                    key="dens_log_chart", config={"displayModeBar": False}, theme=None)

with budget_tab:
    a, b = st.columns(2)
    centre = a.slider("Push mass up at x =", -6.0, 6.0, 0.0, 0.1, key="dens_bump_at")
    mass = b.slider("Mass moved there", 0.0, 0.9, 0.3, 0.05, key="dens_bump_mass")
    base = np.exp(synthetic.DENSITIES_1D["two bumps"].log_density(GRID))
    moved = density.with_bump(base, GRID, centre, mass)
    st.plotly_chart(make_density_1d_figure(GRID, {"before": base, "after": moved},
                                           fill="after"), key="dens_budget_chart",
                    config={"displayModeBar": False}, theme=None)
    a, b = st.columns(2)
    a.metric("Area before", f"{np.trapezoid(base, GRID):.3f}")
    b.metric("Area after", f"{np.trapezoid(moved, GRID):.3f}",
             help="Still 1: the mass gained at x was taken from every other input.")
    st.markdown("A classifier's softmax is a budget too, but over **labels** at a fixed input: "
                "raising one class's score at x lowers the others at x only, and says nothing "
                "about other inputs.")
    logit = st.slider("Score of class A at this x", -5.0, 5.0, 1.0, 0.1, key="dens_logit")
    st.plotly_chart(make_bar_figure(["A", "B", "C"], density.softmax([logit, 0.5, 0.0]),
                                    "p(y | x)", y_range=[0, 1.15]),
                    key="dens_softmax", config={"displayModeBar": False}, theme=None)

with two_d:
    a, b, c = st.columns(3)
    toy = a.selectbox("Toy set", synthetic.TOY_2D_NAMES, key="dens_toy")
    points_count = b.number_input("Points", 0, 5000, 600, key="dens_toy_n")
    bins = c.slider("Bins per axis (chain rule)", 4, 60, 20, key="dens_bins")
    points, labels = synthetic.sample_2d(toy, int(points_count), seed=0)
    axis = np.linspace(-3, 3, 70)
    try:
        estimator = st.radio("Estimator", ["KDE (bandwidth 0.2)", "Gaussian mixture by MLE"],
                             horizontal=True, key="dens_2d_estimator")
        if estimator.startswith("KDE"):
            field = density.kde(points, 0.2, synthetic.Grid2D(-3, 3, 70).points())
        else:
            k = st.number_input("Components", 1, 1000, 6, key="dens_2d_components")
            field = mixture_2d(toy, int(points_count), int(k))
        field = field.reshape(70, 70)
        chain = density.DiscreteChainRule.fit(points, bins=bins)
        left, right = st.columns(2)
        left.plotly_chart(make_contour_figure(axis, field, points, title=f"{estimator}: p(x1, x2)"),
                          key="dens_contour", config={"displayModeBar": False}, theme=None)
        with right:
            slice_bin = st.slider("Condition on x1 bin", 0, bins - 1, bins // 2, key="dens_slice")
            centres = (chain.edges[:-1] + chain.edges[1:]) / 2
            st.plotly_chart(make_line_figure(centres, {
                "p(x1)": chain.marginal,
                f"p(x2 | x1 = {centres[slice_bin]:.2f})": chain.conditional(slice_bin)},
                "value (x1 for the marginal, x2 for the conditional)", "probability per bin"),
                key="dens_chain", config={"displayModeBar": False}, theme=None)
            st.caption("p(x1, x2) = p(x1) p(x2 | x1): a 2-pixel autoregressive model. PixelCNN "
                       "does the same over 784 pixels with a network for each conditional.")
    except density.DensityInputError as exc:
        st.warning(str(exc))

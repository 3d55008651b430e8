"""The density page's tabs on the log trick, on density as a budget of mass and on the 2-D
chain rule (widgets and charts; the work is in explorer/density.py)."""

import numpy as np
import streamlit as st

from app_pages import caches
from app_pages.common import chart, keep, projector, signed_slider
from explorer import density, synthetic
from explorer.figures import (
    contour_frame,
    make_bar_figure,
    make_contour_figure,
    make_density_1d_figure,
    make_line_figure,
    scientific,
    signed,
)

GRID = np.linspace(-8, 8, 801)


@st.fragment
def log_trick_tab() -> None:
    """The product of N likelihoods underflows in float32; the sum of logs does not."""
    n = st.slider("Number of samples N", 1, density.LOG_TRICK_MAX_N, 200, key="dens_log_n", **keep())
    product, log_sum = density.log_trick_demo(n)
    a, b = st.columns(2)
    at = density.underflow_at(product)
    a.metric(r"$\prod_i p(x_i)$ in float32", scientific(float(product[-1])),
             help="Multiplying numbers below 1 shrinks the product towards float32's "
                  "smallest number (about 1.4 × 10⁻⁴⁵), and then it is exactly 0: "
                  + (f"here at N = {at}." if at else "not yet at this N."))
    b.metric(r"$\sum_i \log p(x_i)$", f"{signed(float(log_sum[-1]), 1)} nats",
             help="The same quantity in "
             "log space stays a finite number: maximise this instead.")
    with np.errstate(divide="ignore"):
        shown = np.where(product > 0, np.log10(np.maximum(product, 1e-45)), np.nan)
    # the float32 line is drawn last, thick and dashed: until it underflows it lies on the
    # float64 one, and where it stops is the point
    chart(make_line_figure(np.arange(1, n + 1), {
        "sum of log₁₀ p (float64)": log_sum / np.log(10),
        "log₁₀ of the float32 product": shown},
        "N", "log₁₀ of the product",
        styles={"sum of log₁₀ p (float64)": dict(color="#94a3b8", width=2),
                "log₁₀ of the float32 product": dict(color="#dc2626", width=4, dash="dash")}),
        key="dens_log_chart", filename=f"log_trick_{n}_samples")
    st.caption(density.log_trick_note(product, log_sum))


@st.fragment
def budget_tab() -> None:
    """Raising p(x) somewhere lowers it elsewhere; a softmax budgets over labels instead."""
    a, b = st.columns(2)
    centre = signed_slider("Push mass up at x =", -6.0, 6.0, 0.0, 0.1, key="dens_bump_at", where=a)
    mass = b.slider("Mass moved there", 0.0, 0.9, 0.3, 0.05, key="dens_bump_mass", **keep())
    base = np.exp(synthetic.DENSITIES_1D["two bumps"].log_density(GRID))
    moved = density.with_bump(base, GRID, centre, mass)
    chart(make_density_1d_figure(GRID, {"before": base, "after": moved}, fill="after"),
          key="dens_budget_chart", filename="density_budget",
          projector_height=390)  # on a projector the two areas below end on the screen
    a, b = st.columns(2)
    a.metric("Area before", f"{np.trapezoid(base, GRID):.3f}")
    b.metric("Area after", f"{np.trapezoid(moved, GRID):.3f}",
             help="Still 1: the mass gained at x was taken from every other input.")
    st.markdown("A classifier's softmax is a budget too, but over **labels** at a fixed input: "
                "raising one class's score at x lowers the others at x only, and says nothing "
                "about other inputs.")
    logit = signed_slider("Score (logit) of class A at this x", -5.0, 5.0, 1.0, 0.1,
                          key="dens_logit")
    chart(make_bar_figure(["A", "B", "C"], density.softmax([logit, 0.5, 0.0]), "p(y | x)",
                          y_range=[0, 1.15]), key="dens_softmax", filename="softmax_budget")


@st.fragment
def two_d_tab() -> None:
    """A 2-D density and the discretised chain rule p(x1, x2) = p(x1) p(x2 | x1)."""
    if projector():  # one row of controls: the charts and their x axes end on the first screen
        a, b, c, which, strip = st.columns([1, 0.8, 1.1, 2.3, 1.3], vertical_alignment="bottom")
    else:
        a, b, c = st.columns(3)
        which, strip = st.columns(2, vertical_alignment="bottom")
    toy = a.selectbox("Toy set", synthetic.TOY_2D_NAMES, key="dens_toy", **keep())
    count = int(b.number_input("Points", 0, 5000, 600, key="dens_toy_n", **keep()))
    bins = c.slider("Bins per axis (chain rule)", 4, 60, 20, key="dens_bins", **keep())
    points, _ = synthetic.sample_2d(toy, count, seed=0)
    estimator = which.radio("Estimator", ["KDE (bandwidth 0.2)", "Gaussian mixture by MLE"],
                            horizontal=True, key="dens_2d_estimator", **keep(),
                            # one line in a projector's row of controls
                            format_func=lambda name: name.replace(" by MLE", " (MLE)")
                            if projector() else name)
    components = None if estimator.startswith("KDE") else int(which.number_input(
        "Components", 1, density.MAX_COMPONENTS, 6, key="dens_2d_components", **keep()))
    try:  # the chain rule factors the estimator shown, not a histogram of the points
        field = caches.field_2d(toy, count, components)
        chain = caches.chain_rule_2d(toy, count, components, bins)
    except density.DensityInputError as exc:
        st.warning(str(exc))
        return
    centres = (chain.edges[:-1] + chain.edges[1:]) / 2
    if st.session_state.get("dens_slice", 0) >= bins:  # fewer bins than before
        del st.session_state["dens_slice"]
    # above both charts: they start level, and the strip it picks is outlined on the joint
    slice_bin = strip.select_slider("Condition on x₁ (bin centre)", list(range(bins)),
                                 bins // 2, key="dens_slice",
                                 format_func=lambda i: signed(centres[i]))
    left, right = st.columns(2)
    with left:
        chart(make_contour_figure(np.linspace(-3, 3, 70), field.reshape(70, 70), points,
                                  title=f"{estimator}: p(x₁, x₂)",
                                  band=(chain.edges[slice_bin], chain.edges[slice_bin + 1])),
              key="dens_contour", filename=f"density_2d_{toy}", projector_height=580)
    with right:
        chart(contour_frame(make_line_figure(centres, {
            "p(x₁)": chain.marginal,
            f"p(x₂ | x₁ = {signed(centres[slice_bin])})":
                chain.conditional(slice_bin)},
            "x₁ (marginal) or x₂ (conditional)", "probability per bin",
            title="The two factors")), key="dens_chain", filename=f"chain_rule_{toy}",
              projector_height=580)
        st.caption(r"$p(x_1, x_2) = p(x_1)\,p(x_2 \mid x_1),$ both factors from "
                   + ("the KDE" if components is None else f"the {components}-component "
                      "mixture") + f" on the left (its mass in {bins} × {bins} bins): a 2-pixel "
                   "autoregressive model. The conditional is the orange strip's mass on the joint, "
                   "rescaled to sum to 1. PixelCNN does the same over 784 pixels with a "
                   "network for each conditional.")
        if (mass := float(chain.marginal[slice_bin])) < 0.01:  # a renormalised tail
            st.caption(f"This strip holds {mass:.2%} of the mass (almost no data lie there): "
                       "its conditional is that tiny mass scaled up to sum to 1, so a peak "
                       "here is a guess of the estimator's tails, not something the data "
                       "show.")

"""The density page's tabs on the log trick and on density as a budget of mass (widgets and
charts; the work is in explorer/density.py)."""

import numpy as np
import streamlit as st

from app_pages.common import chart, keep, signed_slider
from explorer import density, synthetic
from explorer.figures import make_bar_figure, make_density_1d_figure, make_line_figure, scientific, signed

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
        "N", "log₁₀ of the running product",
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
          key="dens_budget_chart", filename="density_budget")
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

"""Generative vs discriminative vs conditional generative models, linked by Bayes' rule."""

import numpy as np
import streamlit as st
import torch

from app_pages.common import checkpoint_path, load_split, try_load_checkpoint
from explorer import checkpoints, density, gen_disc, sampling, synthetic, taxonomy
from explorer.figures import make_bar_figure, make_contour_figure

AXIS = np.linspace(-4, 4, 61)

st.title("Generative vs discriminative")
st.markdown(
    "A **discriminative** model learns p(y|x): which label, given the input. A **generative** "
    "model learns p(x): how likely the input is at all. A **conditional generative** model "
    "learns p(x|y). Bayes' rule links them: p(x|y) = p(y|x) p(x) / p(y). Only models of x can "
    "tell that an input is unlike anything they have seen.")


@st.cache_resource(show_spinner="Fitting the classifier...")
def classifier_for(name: str, count: int) -> gen_disc.LogisticClassifier:
    return gen_disc.LogisticClassifier(*synthetic.sample_2d(name, count, seed=0))


def toy_models(name: str, count: int, bandwidth: float):
    points, labels = synthetic.sample_2d(name, count, seed=0)
    return (points, labels, gen_disc.GenerativeClassModel(points, labels, bandwidth),
            classifier_for(name, count))


@st.cache_data(show_spinner=False)
def fields(name: str, count: int, bandwidth: float) -> dict[str, np.ndarray]:
    _, _, generative, discriminative = toy_models(name, count, bandwidth)
    grid = np.stack(np.meshgrid(AXIS, AXIS), -1).reshape(-1, 2)
    shape = (len(AXIS), len(AXIS))
    conditional = generative.p_x_given_y(grid)  # (M, C), reused for p(x) = sum_y p(x|y) p(y)
    return {"p_x": (conditional @ generative.prior).reshape(shape),
            "p_x_given_y": conditional.T.reshape(-1, *shape),
            "disc": discriminative.p_y_given_x(grid)[:, 1].reshape(shape)}


toy_tab, image_tab, families_tab = st.tabs(["Toy data", "Images", "Families and trade-offs"])
with toy_tab:
    a, b, c = st.columns(3)
    name = a.selectbox("Labelled toy set", synthetic.TOY_2D_NAMES, key="gvd_toy")
    count = b.number_input("Points", 0, 3000, 400, key="gvd_count")
    bandwidth = c.slider("Kernel bandwidth of the generative model", 0.05, 1.5, 0.3, 0.05,
                         key="gvd_bandwidth")
    try:
        points, labels, generative, discriminative = toy_models(name, int(count), bandwidth)
    except density.DensityInputError as exc:
        st.warning(f"{exc} Add more points.")
        st.stop()
    maps = fields(name, int(count), bandwidth)
    clicked = st.session_state.get("gvd_point", (3.5, 3.5))
    left, middle, right = st.columns(3)
    with left:
        event = st.plotly_chart(make_contour_figure(
            AXIS, maps["disc"], points, labels, title="Discriminative p(y=1 | x)",
            colorbar_title="p(y=1|x)", colorscale="RdBu", zmin=0, zmax=1, marked=clicked,
            clickable=True), on_select="rerun", selection_mode="points", key="gvd_disc_chart",
            config={"displayModeBar": False}, theme=None)
    middle.plotly_chart(make_contour_figure(AXIS, np.log10(maps["p_x"] + 1e-12), points, labels,
                                            title="Generative log10 p(x)", zmin=-6,
                                            colorbar_title="log10 p(x)", marked=clicked),
                        key="gvd_gen_chart", config={"displayModeBar": False}, theme=None)
    right.plotly_chart(make_contour_figure(AXIS, np.log10(maps["p_x_given_y"][0] + 1e-12),
                                           points[labels == 0], np.zeros((labels == 0).sum()),
                                           title="Conditional log10 p(x | y=0)", zmin=-6,
                                           colorbar_title="log10 p(x|y)", marked=clicked),
                       key="gvd_cond_chart", config={"displayModeBar": False}, theme=None)
    picks = [p["customdata"] for p in (event.selection.points if event else [])
             if p.get("customdata") is not None]
    if picks and tuple(picks[0][:2]) != tuple(clicked):
        st.session_state.gvd_point = tuple(float(v) for v in picks[0][:2])
        st.rerun()
    st.caption("Click anywhere on the left chart to move the orange cross. The default cross "
               "sits far from the data: the classifier is still sure, p(x) is tiny.")
    numbers = gen_disc.bayes_check(generative, np.array(clicked))
    rows = {"class y": [str(c) for c in generative.classes],
            "p(y)": numbers["p_y"], "p(x|y)": numbers["p_x_given_y"],
            "p(y|x) from the generative model": numbers["p_y_given_x"],
            "p(y|x) p(x) / p(y)": numbers["bayes"],
            "discriminative p(y|x)": discriminative.p_y_given_x(np.array(clicked))[0]}
    st.dataframe({k: [f"{v:.4g}" if not isinstance(v, str) else v for v in values]
                  for k, values in rows.items()}, hide_index=True)
    st.caption(f"At x = ({clicked[0]:.2f}, {clicked[1]:.2f}): p(x) = {float(numbers['p_x']):.3g}. "
               "The two middle columns agree: Bayes' rule recovers p(x|y) from p(y|x), p(x) and "
               "p(y). The separately trained classifier has its own, often over-confident, p(y|x).")

with image_tab:
    train, test = load_split("mnist", "train"), load_split("mnist", "test")
    pixelcnn = try_load_checkpoint(checkpoint_path("gated_pixelcnn_mnist")) \
        if (checkpoints.checkpoint_dir() / "gated_pixelcnn_mnist.json").is_file() else None
    if train is None or test is None or pixelcnn is None:
        st.info("The image comparison needs MNIST and the shipped gated PixelCNN checkpoint.")
    else:
        @st.cache_resource(show_spinner="Training a pixel classifier (logistic regression)...")
        def classifier() -> gen_disc.PixelClassifier:
            return gen_disc.PixelClassifier(train[0][:10000], train[1][:10000], iterations=60)

        rng = np.random.default_rng(0)
        inputs = {"digit": test[0][1, 0].numpy(), "noise": rng.integers(0, 256, (28, 28)),
                  "scribble": gen_disc.scribble(int(st.number_input(
                      "Scribble seed", 0, 1000, 0, key="gvd_scribble"))),
                  "blank": np.zeros((28, 28))}
        stack = torch.from_numpy(np.stack(list(inputs.values())).astype(np.uint8))[:, None]
        confidence = classifier().probabilities(stack).max(1)
        bits = sampling.per_pixel_bits(pixelcnn[0], stack).mean((1, 2))
        st.plotly_chart(make_bar_figure(list(inputs), confidence, "classifier max p(y|x)",
                                        y_range=[0, 1.15]), key="gvd_conf",
                        config={"displayModeBar": False}, theme=None)
        st.plotly_chart(make_bar_figure(list(inputs), bits, "PixelCNN bits/dim (lower = likelier)"),
                        key="gvd_bits", config={"displayModeBar": False}, theme=None)
        blank_twist = bits[3] < bits[0]
        st.caption("The classifier gives every input some label, often confidently; the density "
                   "model scores noise and scribbles as far less likely than the digit, so it can "
                   "reject them."
                   + (" The blank image is the twist: it is *more* likely than the digit, because "
                      "likelihood also rewards simple inputs." if blank_twist else ""))

with families_tab:
    st.markdown("What each family of generative model trades off, and where this app shows it:")
    leaves = [f for f in taxonomy.FAMILIES if not taxonomy.children(f.key)]
    st.dataframe({"family": [f.label for f in leaves],
                  "exact likelihood?": [f.exact_likelihood for f in leaves],
                  "fast sampling?": [f.fast_sampling for f in leaves],
                  "useful latent?": [f.useful_latent for f in leaves]}, hide_index=True)
    for family in leaves:
        if family.page:
            st.page_link(family.page, label=f"{family.label}: explore it", icon=":material/arrow_forward:")

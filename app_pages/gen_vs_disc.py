"""Generative vs discriminative vs conditional generative models, linked by Bayes' rule."""

import numpy as np
import streamlit as st

from app_pages import caches, links
from app_pages.common import (
    chart,
    checkpoint_path,
    intro,
    keep,
    lazy_tabs,
    load_split,
    try_load_checkpoint,
)
from explorer import checkpoints, density, gen_disc, likelihood_probe, selection, synthetic, taxonomy
from explorer.figures import (
    class_key,
    make_bar_figure,
    make_contour_figure,
    probability_column,
    signed,
)
from explorer.typeset import markdown_table

AXIS = caches.AXIS
TABS = ["Toy data", "Images", "Families and trade-offs"]
TOY_HEIGHT = 280  # px of field: 3 squares of ~200 px across a laptop (380 left 150 px empty)
TOY_PROJECTOR_HEIGHT = 520  # px: on a projector the three maps end on the first screen
INPUTS_HEIGHT = 380  # px: the Images tab's bar charts, each input drawn under its bars
BARS_PROJECTOR_HEIGHT = 450  # px: on a projector they and their caption end on the first screen

st.title("Generative vs discriminative")
intro(
    r"A **discriminative** model learns ${p(y \mid x)}{:}$ which label, given the input. A "
    r"**generative** model learns $p(x){:}$ how likely the input is at all. A **conditional "
    r"generative** model learns ${p(x \mid y)}.$ Bayes' rule links them:",
    r"p(x \mid y) = \frac{p(y \mid x)\, p(x)}{p(y)}",
    "Only a model of x rates the input itself, so only it can flag an input far from its "
    "data (the Toy data tab); on images a likelihood can still rate a blank page above a "
    "digit (the Images tab).")


@st.cache_resource(show_spinner="Training a pixel classifier (logistic regression)...")
def pixel_classifier() -> gen_disc.PixelClassifier | None:
    train = load_split("mnist", "train")
    return None if train is None else gen_disc.PixelClassifier(train[0][:10000],
                                                               train[1][:10000], iterations=60)


@st.fragment
def toy_tab() -> None:
    """p(y|x), p(x) and p(x|y=0) on labelled toy data; click to evaluate Bayes' rule."""
    a, b, c = st.columns(3)
    name = a.selectbox("Labelled toy set", synthetic.TOY_2D_NAMES, key="gvd_toy", **keep())
    count = int(b.number_input("Points", 0, 3000, 400, key="gvd_count", **keep()))
    bandwidth = c.slider("Kernel bandwidth of the generative model", 0.05, 1.5, 0.3, 0.05,
                         key="gvd_bandwidth", **keep())
    points, labels = synthetic.sample_2d(name, count, seed=0)
    try:
        generative = gen_disc.GenerativeClassModel(points, labels, bandwidth)
        maps = caches.fields(name, count, bandwidth)
    except density.DensityInputError as exc:
        st.warning(f"{exc} Add more points.")
        return
    arrived, problem = links.consume("gvd_point", density.parse_points)
    if arrived is not None and len(arrived) == 2:
        st.session_state.gvd_point = tuple(arrived)
    elif arrived is not None:
        problem = f"`gvd_point={links.arrived('gvd_point')}` (expected two numbers)"
    st.session_state.gvd_link_problem = problem
    clicked = st.session_state.get("gvd_point", (3.5, 3.5))
    links.put(gvd_point=None if clicked == (3.5, 3.5) else density.format_points(clicked))
    first = int(generative.classes[0])
    table = gen_disc.bayes_table(generative, caches.classifier_for(name, count), np.array(clicked))
    p_x = float(generative.p_x(np.array(clicked))[0])
    st.markdown(class_key(generative.classes) + " &nbsp;·&nbsp; " + gen_disc.verdict(
        table, p_x), unsafe_allow_html=True)  # our spans; a click's answer above the plots
    left, middle, right = st.columns(3)
    with left:
        event = chart(make_contour_figure(
            AXIS, maps["disc"], points, labels, title="Discriminative p(y=1 | x)",
            colorbar_title="p(y=1|x)", colorscale="RdBu", zmin=0, zmax=1, marked=clicked,
            clickable=True, height=TOY_HEIGHT), key="gvd_disc_chart", filename=f"p_y_given_x_{name}",
            on_select="rerun", selection_mode="points",
            projector_height=TOY_PROJECTOR_HEIGHT)
    with middle:
        chart(make_contour_figure(AXIS, np.log10(maps["p_x"] + 1e-12), points, labels,
                                  title="Generative log₁₀ p(x)", zmin=-6,
                                  colorbar_title="log₁₀ p(x)", marked=clicked,
                                  height=TOY_HEIGHT),
              key="gvd_gen_chart", filename=f"p_x_{name}",
              projector_height=TOY_PROJECTOR_HEIGHT)
    with right:
        chosen = labels == first
        chart(make_contour_figure(AXIS, np.log10(maps["p_x_given_y"][0] + 1e-12),
                                  points[chosen], labels[chosen],
                                  title=f"Conditional log₁₀ p(x | y={first})", zmin=-6,
                                  colorbar_title="log₁₀ p(x|y)", marked=clicked,
                                  height=TOY_HEIGHT),
              key="gvd_cond_chart", filename=f"p_x_given_y{first}_{name}",
              projector_height=TOY_PROJECTOR_HEIGHT)
    picked = selection.clicked_xy(event)
    if picked is not None and picked != tuple(clicked):
        st.session_state.gvd_point = picked
        st.rerun(scope="fragment")
    st.caption("Click anywhere on the left chart to move the orange cross." + (" The default cross "
               "sits far from the data: the classifier is still sure, $p(x)$ is tiny."
               if clicked == (3.5, 3.5) else "")
               + (f" With {len(generative.classes)} classes, red on the left means *not class "
                  "1*: class-0 and class-2 points both sit in red." if len(generative.classes) > 2
                  else ""))
    st.markdown(markdown_table({gen_disc.BAYES_HEADERS[k]: values if isinstance(values[0], str)
                                else probability_column(values) for k, values in table.items()}))
    st.caption(f"At x = ({signed(clicked[0])}, {signed(clicked[1])}): $p(x)$ = "
               f"{probability_column([p_x])[0]}. "
               + gen_disc.agreement(table))


@st.fragment
def images_tab() -> None:
    """A classifier gives every input a label; a density model can rate how likely it is."""
    test = load_split("mnist", "test")
    pixelcnn = try_load_checkpoint(checkpoint_path("gated_pixelcnn_mnist")) \
        if checkpoints.locate("gated_pixelcnn_mnist").with_suffix(".json").is_file() else None
    classifier = pixel_classifier()
    if test is None or pixelcnn is None or classifier is None:
        st.info("The image comparison needs MNIST and the shipped gated PixelCNN checkpoint.")
        return
    seed = int(st.number_input("Scribble and noise seed", 0, 1000, 0, key="gvd_scribble",
                               **keep(), width=300))
    digit = test[0][likelihood_probe.PROBE_DIGIT_INDEX, 0].numpy()  # the PixelCNN page's too
    inputs = likelihood_probe.probe_inputs(digit, seed=seed)
    inputs.pop("rolled digit, wrapped")
    scores, _ = likelihood_probe.score(pixelcnn[0], inputs)
    pictures = list(inputs.values())
    confidence = classifier.probabilities(np.stack(pictures).astype(np.uint8)).max(1)
    left, right = st.columns(2)  # each input under its own bars, in both charts
    with left:
        chart(make_bar_figure(list(inputs), confidence, "classifier max p(y|x)",
                              y_range=[0, 1.15], height=INPUTS_HEIGHT, inputs=pictures),
              key="gvd_conf", filename="classifier_confidence",
              projector_height=BARS_PROJECTOR_HEIGHT)
    with right:
        chart(make_bar_figure(list(inputs), list(scores.values()),
                              "bits/dim", height=INPUTS_HEIGHT, inputs=pictures),
              key="gvd_bits",  # the caption names the model
              filename="pixelcnn_bits_per_dim", projector_height=BARS_PROJECTOR_HEIGHT)
    card = pixelcnn[1]
    st.caption("Right: bits per dimension under the shipped gated PixelCNN, "
               f"gated_pixelcnn_mnist ({card.get('test_bits_per_dim', float('nan')):.3f} "
               "bits/dim on MNIST's test digits); lower means likelier. The classifier gives "
               "every input some label; its highest confidence here "
               "is " + likelihood_probe.percent(confidence.max()) + ". "
               + likelihood_probe.verdict(scores))


@st.fragment
def families_tab() -> None:
    """What each family of generative model trades off, with links to its page."""
    st.markdown("What each family of generative model trades off, and where this app shows it:")
    leaves = [f for f in taxonomy.FAMILIES if not taxonomy.children(f.key)]
    st.dataframe({"family": [f.label for f in leaves],
                  "exact likelihood?": [f.exact_likelihood for f in leaves],
                  "fast sampling?": [f.fast_sampling for f in leaves],
                  "useful latent?": [f.useful_latent for f in leaves]}, hide_index=True)
    for family in leaves:
        if family.page:
            st.page_link(family.page, label=f"{family.label}: explore it",
                         icon=":material/arrow_forward:")


tabs = lazy_tabs(TABS, key="gvd_tab")
for tab, view in zip(tabs, (toy_tab, images_tab, families_tab)):
    with tab:
        if tab.open:
            view()
links.check(["gvd_toy", "gvd_count", "gvd_bandwidth", "gvd_scribble", "gvd_tab"],
            problems=[st.session_state.pop("gvd_link_problem", None)])

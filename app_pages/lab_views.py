"""The ELBO lab's views of the reparameterization trick and of the ELBO against the IWAE
bounds (widgets and charts; the work is in explorer/reparameterization.py and the lab's
worker)."""

import streamlit as st

from app_pages import common as ui
from explorer import checkpoints, elbo_lab, imaging, reparameterization
from explorer.figures import make_bounds_figure, make_reparameterization_figure, signed
from explorer.lab_runs import LabRuns
from explorer.run_store import RunStoreError

BOUNDS_INTRO = (
    "The button scores 100 test images under the run's model as it is now. The ELBO is "
    r"$L_1;$ averaging k importance weights inside the log gives $L_k,$ a tighter bound that "
    r"rises with k towards ${\log p(x)}$ (Burda et al. 2015), so the chart shows how much "
    r"the ELBO gives away for an imperfect ${q(z \mid x)}.$")


def pair(values) -> str:
    """'(0.86, −0.29)': two numbers as typeset (true minus signs)."""
    return f"({signed(float(values[0]))}, {signed(float(values[1]))})"


@st.fragment
def reparameterization_tab() -> None:
    """Draw eps, see z = mu + sigma * eps, and where the gradient flows (2-D VAE)."""
    loaded = ui.try_load_checkpoint(ui.checkpoint_path("vae2_mnist"))
    test = ui.load_split("mnist", "test")
    if loaded is None or test is None:
        st.info("This view needs the shipped 2-D VAE and MNIST. " + ui.data_missing_message())
        return
    intro = ("Training needs the gradient of the loss with respect to the encoder's μ and σ, "
             "but a sample is not differentiable. The trick draws the noise outside the "
             r"network, $\varepsilon \sim \mathcal{N}(0, I),$ and forms z from it")
    equation = (r"z = \mu + \sigma \odot \varepsilon \quad\Rightarrow\quad "
                r"\frac{\partial z}{\partial \mu} = 1,\quad "
                r"\frac{\partial z}{\partial \sigma} = \varepsilon")
    projector = ui.projector()
    if projector:  # the equation beside the controls, the graph beside the planes, words after
        formula, a, b, c = st.columns([2.4, 1, 1, 0.8], vertical_alignment="bottom")
        formula.latex(equation)
    else:
        st.markdown(intro + ":")
        st.latex(equation)
        a, b, c = st.columns(3)
    index = int(a.number_input("Test image", 0, len(test[0]) - 1, 0, key="lab_rep_index",
                               **ui.keep()))
    seed = int(b.number_input("Noise seed (a new ε)", 0, 10**6, 0, key="lab_rep_seed",
                              **ui.keep()))
    trick = c.toggle("Use the trick", True, key="lab_rep_trick", **ui.keep())
    draw = reparameterization.draw(loaded[0], test[0][index, 0].numpy(), seed)
    if projector:
        left, right, graph = st.columns([3.6, 1, 2.6])
    else:
        left, right = st.columns([4, 1])
    with left:
        ui.chart(make_reparameterization_figure(draw.mu, draw.sigma, draw.eps, draw.z, trick),
                 key="lab_rep_planes", filename=f"reparameterization_image{index}_seed{seed}")
    with right:
        st.image(imaging.png_bytes(draw.decoded, scale=4), output_format="PNG",
                 caption=f"decoded z = {pair(draw.z)}")
    if projector:  # after the charts: the sentence names the equation above them
        told, words = st.columns(2)
        told.markdown(intro + " by the equation above the charts.")
    else:
        graph, words = st.columns(2)
        told = words
    size = 24 if projector else 20  # px, as the DOT lays the boxes out for (a projector's
    # 24 px text; larger boxes no longer fit beside the planes)
    graph.graphviz_chart(reparameterization.graph(trick, size, 0.12 if projector else 0.3),
                         width="content")
    # Streamlit sets every graph's text to ~10 px, whatever the DOT says: the labels then sit
    # small in boxes drawn for `size`. This restores the size the layout was made for.
    graph.html(f"<style>[data-testid='stGraphVizChart'] svg text {{ font-size: {size}px "
               "!important; }</style>")
    told.caption("The computation graph: arrows point the way values flow, from the image "
                 "to the loss; the loss's gradient flows back along the solid blue ones to "
                 "the encoder; " + ("the dashed grey arrow is a random draw, which no "
                 "gradient crosses. The reconstruction's gradient reaches μ and σ through z; "
                 "the KL term's reaches them directly, along the arrow from the box q(z|x) "
                 "that holds both." if trick else "the dashed grey "
                 "arrows into the sampled z carry no gradient, so the reconstruction's "
                 "gradient stops at z: μ, σ and the encoder learn from the KL term alone, "
                 "which only pulls every posterior towards the prior."))
    if trick:
        words.markdown(reparameterization.gradient_text(draw))
    else:
        words.warning("Without the trick z is drawn from 𝒩(μ, σ²) directly: the sample has no "
                      "derivative with respect to μ or σ, so backpropagation stops at z and "
                      "the encoder gets no gradient from the reconstruction term.")


@st.fragment
def bounds_tab(runs: LabRuns) -> None:
    """ELBO vs the importance-weighted bounds L_k of the run's current model."""
    status = runs.status()
    if status is None:
        st.caption("The bounds are computed on the live run's current model: start a run on "
                   "the Live run tab first.")
    else:
        st.caption(BOUNDS_INTRO)
    if st.button("Compute the bounds for k = 1, 10, 100, 1000 on 100 test images",
                 key="lab_bounds_button", disabled=status is None):
        with st.spinner("Sampling..."):
            try:
                result = runs.ask(elbo_lab.LAB_RUN, "bounds", {})
                st.session_state.lab_bound_values = {int(k): v for k, v in result.items()}
                st.session_state.lab_bound_model = (  # which model: the run as it was then
                    f"the ELBO lab run's model at step {status.step:,} "
                    f"(epoch {status.epoch:.2f}, {status.state})")
            except (RunStoreError, checkpoints.CheckpointError) as exc:
                st.error(str(exc))
    if st.session_state.get("lab_bound_values"):
        ui.chart(make_bounds_figure(st.session_state.lab_bound_values),
                 key="lab_bounds_chart", filename="elbo_vs_iwae_bounds")
        st.caption(f"Bounds of {st.session_state.get('lab_bound_model', 'the run')}, on 100 "
                   r"test images, nats per image: $L_k$ is the log of the mean of k "
                   "importance weights.")

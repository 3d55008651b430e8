"""Latent space explorer: VAE sliders, traversals, the 2-D manifold, interpolation, AE vs VAE."""

import numpy as np
import streamlit as st

from app_pages import caches, latent_views, links
from app_pages import common as ui
from app_pages.components.latent_decoder import browser_decoder, latent_decoder
from app_pages.inputs import SOURCES, choose_input
from explorer import animation, density, imaging, latent, quality
from explorer.figures import make_kl_bars_figure

VAE_2D, AUTOENCODER = "vae2_mnist", "ae16_mnist"
TABS = ["Sliders", "Traversals", "Independent dimensions", "2-D manifold",
        "Interpolation & samples", "Autoencoder vs VAE"]

st.title("Latent space explorer")
aside = ui.intro(
    r"A VAE encodes an image $x$ into a Gaussian ${q(z \mid x)}$ over a small latent vector "
    "$z$ and decodes $z$ back into an image. Drag one slider per latent dimension to move z and watch the "
    "decoded digit morph. Dimensions are sorted by how much information they carry (their "
    "average KL to the prior); the KL term switches the rest off.", aside=True)


vaes = [c for c in ui.checkpoint_cards() if c.get("model") == "VAE" and "error" not in c
        and c["config"]["latent_dim"] > 2]
if not vaes:
    st.error("No VAE checkpoint with more than 2 latent dimensions in checkpoints/. Train one: "
             "`python -m explorer.train vae --latent-dim 16 --out checkpoints/vae16_mnist`.")
    st.stop()
# on a projector the model, the input and its button in one row (the model's card beside
# the intro's): the tabs start on the first screen. The button stands level with the choice
# under its label; an input taller than one row (a digit's pickers, a canvas) starts level
random = st.session_state.get("latent_source", st.query_params.get(
    "latent_source", SOURCES[0])) == SOURCES[0]  # a link's choice too
pick, source, beside = st.columns([1.2, 4.3, 1.7], vertical_alignment="bottom" if random
                                  else "top") if ui.projector() \
    else (st.container(), st.container(), None)
name = pick.selectbox("VAE checkpoint", [c["name"] for c in vaes], key="latent_model",
                      **ui.keep(), help="Checkpoints saved from the ELBO lab appear here too.")
loaded = ui.try_load_checkpoint(ui.checkpoint_path(name))
if loaded is None:
    st.stop()
model, card = loaded
K, nll = model.config.latent_dim, card.get("test_nll_nats")
ui.folded_on_projector("About this model", parent=aside if ui.projector() else pick).caption(
    f"{K}-D latent, {model.config.architecture} encoder/decoder, "
    f"{model.config.likelihood.capitalize()} decoder, trained {card.get('epochs', 0):g} epochs; "
    + (f"test NLL {nll:.2f} nats per image (importance-weighted, "
       f"k={card.get('eval_samples')}, {card.get('test_images', 0):,} test images). "
       if nll is not None else "test NLL not measured yet. ")
    + (quality.summary_of(card) or ""))
encoded = caches.test_encodings(card["cache_key"], model)
if encoded is None:
    st.warning("MNIST test images are not available, so dimensions are in natural order and "
               "test-image inputs are off. " + ui.data_missing_message())
    stats = latent.LatentStats(np.zeros(K), np.ones(K), np.arange(K))
else:
    stats = latent.latent_stats(encoded[0], encoded[1])
test = ui.load_split("mnist", "test")

with source:
    image, input_id, z_start = choose_input(test, K, beside)
if image is not None:
    z_start = latent.encode_image(model, image)
if z_start is None:
    st.caption("No input yet: the sliders start at z = 0, the prior's mean.")
    z_start = np.zeros(K, dtype=np.float32)
slider_keys = [f"lat_{name}_{d}" for d in range(K)]


def reset_sliders() -> None:
    st.session_state.update(zip(slider_keys, latent.slider_values(z_start)))


if st.session_state.get("latent_input_id") != (card["cache_key"], input_id):
    st.session_state.latent_input_id = (card["cache_key"], input_id)
    st.session_state.pop("latent_link_z", None)
    reset_sliders()
arrived_z, z_problem = links.consume("latent_z", density.parse_points)
if arrived_z is not None and len(arrived_z) == K:  # a link's point in latent space
    st.session_state.latent_link_z = np.array(arrived_z, dtype=np.float32)
    st.session_state.update(zip(slider_keys, latent.slider_values(arrived_z)))
elif arrived_z is not None:
    z_problem = f"`latent_z={links.arrived('latent_z')}` (expected {K} numbers)"


@st.fragment
def sliders_tab() -> None:
    """One slider per dimension (most informative first) and the decoded image: decoded in
    the browser while dragging (full width), or on the server (the fallback) on release."""
    labels = [f"z{d}: KL {stats.mean_kl[d]:.2f} nats" + ("" if stats.active[d] else
                                                        " (inactive)") for d in range(K)]
    z = latent_decoder(browser_decoder(card["cache_key"], model),
                       st.session_state.get("latent_link_z", z_start), stats.order, labels,
                       key=f"latent_browser_{name}")
    if z is None:  # the server path: Streamlit sliders, decoded on release
        z = np.array(z_start, dtype=np.float32)
        columns = st.columns(3)
        for rank, d in enumerate(stats.order):
            z[d] = columns[rank % 3].slider(
                labels[d], -3.0, 3.0, step=0.05, key=slider_keys[d], persist_state="session",
                help="Value in prior standard deviations; starts at the encoded mean. KL is "
                     "this dimension's average over the test set; inactive means "
                     "Cov_x(E_q[z]) <= 0.01.")
        st.button("Reset to the encoding", key="latent_reset", on_click=reset_sliders)
    links.put(latent_z=None if np.allclose(z, z_start, atol=5e-3) else density.format_points(z))
    shown = [] if image is None else [(image, "input")]
    shown += [(latent.decode_arrays(model, z_start)[0], "reconstruction (decoded mean)"),
              (latent.decode_arrays(model, z)[0], "decoded slider values")]
    left, right = st.columns([2, 3])
    for column, (picture, caption) in zip(left.columns(len(shown)), shown):
        column.image(imaging.png_bytes(picture, scale=5), caption=caption, width="stretch",
                     output_format="PNG")
    left.caption(f"{int(stats.active.sum())} of {K} dimensions active. Distance of the "
                 r"sliders' z from the encoding: $\lVert z - z_{\mathrm{start}} \rVert$ = "
                 f"{np.linalg.norm(z - z_start):.2f}.")
    with right:
        ui.chart(make_kl_bars_figure(stats.mean_kl, stats.active, stats.order),
                 key="latent_kl_bars", filename=f"kl_per_dimension_{name}")


@st.fragment
def interpolation_tab() -> None:
    """Linear and spherical paths between two encodings, and samples from the prior."""
    if test is None:
        st.info("Interpolation between test images needs MNIST. " + ui.data_missing_message())
    else:
        left, middle, right = st.columns(3)
        first = left.number_input("First test image (index)", 0, len(test[0]) - 1, 0,
                                  key="latent_interp_a", **ui.keep())
        second = middle.number_input("Second test image (index)", 0, len(test[0]) - 1, 1,
                                     key="latent_interp_b", **ui.keep())
        steps = right.slider("Steps", 3, 16, 10, key="latent_interp_steps", **ui.keep())
        ends = latent.encode_means(model, test[0][[int(first), int(second)]])[0]
        for spherical, title in ((False, "linear"), (True, "spherical (slerp)")):
            path = latent.interpolate(ends[0], ends[1], steps, spherical=spherical)
            ui.show_grid(path, model, steps, 3, f"{title} interpolation between the two "
                         "encodings", f"{name}_interpolation_{first}_{second}_{title[:6]}")
            st.download_button(f"Save the {title} interpolation as a GIF",
                               key=f"latent_interp_gif_{spherical}", mime="image/gif",
                               file_name=ui.safe_filename(f"{name}_{title[:6]}_{first}_{second}"
                                                          ".gif"),
                               icon=":material/animated_images:", on_click="ignore",
                               data=lambda p=path: animation.gif_bytes(animation.there_and_back(
                                   list(latent.decode_arrays(model, p)))))
    seed = st.number_input("Prior sample seed", 0, 10**6, 0, key="latent_sample_seed", **ui.keep())
    ui.show_grid(latent.prior_codes(64, K, int(seed)), model, 16, 2,
              "64 samples: z ∼ 𝒩(0,\u00a0I), decoded to mean images.", f"{name}_prior_seed{seed}")


tabs = ui.lazy_tabs(TABS, key="latent_tab")
views = (sliders_tab, lambda: latent_views.traversals_tab(model, name, stats, z_start),
         lambda: latent_views.independence_tab(model, card, stats),
         latent_views.manifold_tab, interpolation_tab,
         lambda: latent_views.contrast_tab(model, card))
for tab, view in zip(tabs, views):
    with tab:
        if tab.open:
            view()
links.check(["latent_model", "latent_source", "latent_digit", "latent_digit_index",
             "latent_prior_seed", "latent_tab"], problems=[z_problem])

"""Latent space explorer: VAE sliders, traversals, the 2-D manifold, interpolation, AE vs VAE."""

import hashlib

import numpy as np
import streamlit as st
import torch

from explorer import checkpoints, imaging, latent
from explorer.figures import make_kl_bars_figure, make_latent_scatter_figure
from pages.common import checkpoint_path, data_missing_message, load_split, try_load_checkpoint

VAE_2D, AUTOENCODER = "vae2_mnist", "ae16_mnist"
SOURCES = ("Random test image", "Test image of a digit", "Draw", "Upload", "Prior sample")

st.title("Latent space explorer")
st.markdown(
    "A VAE encodes an image x into a Gaussian q(z|x) over a small latent vector z and decodes "
    "z back into an image. Drag one slider per latent dimension to move z and watch the "
    "decoded digit morph. Dimensions are sorted by how much information they carry (their "
    "average KL to the prior); the KL term switches the rest off.")


@st.cache_data(show_spinner="Encoding the test set...")
def test_encodings(model_key: str, _model) -> tuple[np.ndarray, np.ndarray | None, np.ndarray] | None:
    split = load_split("mnist", "test")
    if split is None:
        return None
    means, logvars = latent.encode_means(_model, split[0])
    return means, logvars, split[1].numpy()


@st.cache_data(show_spinner="Fitting a linear probe on the codes...")
def probe_accuracy(model_key: str, _model) -> float | None:
    train, test = load_split("mnist", "train"), load_split("mnist", "test")
    if train is None or test is None:
        return None
    train_codes, _ = latent.encode_means(_model, train[0][:10000])
    test_codes, _ = latent.encode_means(_model, test[0])
    return latent.linear_probe_accuracy(train_codes, train[1][:10000].numpy(), test_codes,
                                        test[1].numpy())


def grid_png(images: np.ndarray, columns: int, scale: int = 3) -> bytes:
    return imaging.png_bytes(imaging.grid(images, columns), scale=scale)


vae_names = [c["name"] for c in checkpoints.available()
             if c.get("model") == "VAE" and "error" not in c and c["config"]["latent_dim"] > 2]
if not vae_names:
    st.error("No VAE checkpoint with more than 2 latent dimensions in checkpoints/. Train one: "
             "`python -m explorer.train vae --latent-dim 16 --out checkpoints/vae16_mnist`.")
    st.stop()
name = st.selectbox("VAE checkpoint", vae_names, key="latent_model",
                    help="Checkpoints saved from the ELBO lab appear here too.")
loaded = try_load_checkpoint(checkpoint_path(name))
if loaded is None:
    st.stop()
model, card = loaded
K = model.config.latent_dim
nll = card.get("test_nll_nats")
st.caption(f"{K}-D latent, {model.config.architecture} encoder/decoder, "
           f"{model.config.likelihood} decoder, trained {card.get('epochs', '?')} epochs; "
           + (f"test NLL {nll:.2f} nats per image (importance-weighted, "
              f"k={card.get('eval_samples')} samples, {card.get('test_images')} test images)."
              if nll is not None else "test NLL not measured yet."))
encoded = test_encodings(card["cache_key"], model)
if encoded is None:
    st.warning("MNIST test images are not available, so dimensions are in natural order and "
               "test-image inputs are off. " + data_missing_message())
    stats = latent.LatentStats(np.zeros(K), np.ones(K), np.arange(K))
else:
    stats = latent.latent_stats(encoded[0], encoded[1])
test = load_split("mnist", "test")

# ---- the input ----------------------------------------------------------------------
source = st.radio("Start from", SOURCES, horizontal=True, key="latent_source")
image, input_id, z_start = None, None, None
if source in SOURCES[:2] and test is None:
    st.info("This input needs the MNIST test set; pick Draw, Upload or Prior sample.")
elif source == "Random test image":
    if st.button("Another random test image", key="latent_new_random") \
            or "latent_random_index" not in st.session_state:
        st.session_state.latent_random_index = int(np.random.default_rng().integers(len(test[0])))
    index = st.session_state.latent_random_index
    image, input_id = test[0][index, 0].numpy(), f"test-{index}"
elif source == "Test image of a digit":
    left, right = st.columns(2)
    digit = left.selectbox("Digit", list(range(10)), key="latent_digit")
    candidates = np.flatnonzero(test[1].numpy() == digit)
    which = right.number_input(f"Which {digit} (of {len(candidates)})", 0, len(candidates) - 1,
                               key="latent_digit_index")
    index = int(candidates[int(which)])
    image, input_id = test[0][index, 0].numpy(), f"test-{index}"
elif source == "Draw":
    try:
        from streamlit_drawable_canvas import st_canvas
        result = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000",
                           height=224, width=224, drawing_mode="freedraw",
                           return_image_data=True, key="latent_canvas")
        image = imaging.canvas_to_mnist(result.image_data)
        input_id = "draw-" + hashlib.md5(image.tobytes()).hexdigest()
    except imaging.ImageInputError as exc:
        st.info(str(exc))
    except Exception as exc:  # the component is optional; say so rather than crash
        st.warning(f"The drawing canvas is unavailable here ({type(exc).__name__}).")
elif source == "Upload":
    upload = st.file_uploader("An image of a digit (any size or colour, at most 10 MB)",
                              key="latent_upload")
    if upload is not None:
        try:
            preview, image = imaging.upload_to_mnist(upload.getvalue())
            input_id = "upload-" + hashlib.md5(image.tobytes()).hexdigest()
            left, right = st.columns(2)
            left.image(imaging.png_bytes(preview, scale=1), caption="your image (grey)",
                       width=160, output_format="PNG")
            right.image(imaging.png_bytes(image, scale=6), caption="what the model sees: 28x28, "
                        "digit fitted to 20x20 and centred like MNIST", width=160,
                        output_format="PNG")
        except imaging.ImageInputError as exc:
            st.error(str(exc))
else:
    seed = st.number_input("Seed", 0, 10**6, 0, key="latent_prior_seed")
    z_start = torch.randn(K, generator=torch.Generator().manual_seed(int(seed))).numpy()
    input_id = f"prior-{seed}"

if image is not None:
    z_start = latent.encode_means(model, torch.from_numpy(image)[None, None])[0][0]
if z_start is None:
    st.caption("No input yet: the sliders start at z = 0, the prior's mean.")
    z_start, input_id = np.zeros(K, dtype=np.float32), "origin"
slider_keys = [f"lat_{name}_{d}" for d in range(K)]


def reset_sliders() -> None:
    for d, key in enumerate(slider_keys):
        st.session_state[key] = float(np.clip(round(float(z_start[d]), 2), -3.0, 3.0))


if st.session_state.get("latent_input_id") != f"{card['cache_key']}:{input_id}":
    st.session_state.latent_input_id = f"{card['cache_key']}:{input_id}"
    reset_sliders()

sliders_tab, traversal_tab, manifold_tab, interpolation_tab, contrast_tab = st.tabs(
    ["Sliders", "Traversals", "2-D manifold", "Interpolation & samples", "Autoencoder vs VAE"])


@st.fragment
def slider_panel() -> None:
    controls, pictures = st.columns([3, 2])
    z = np.array(z_start, dtype=np.float32)
    with controls:
        columns = st.columns(2)
        for rank, d in enumerate(stats.order):
            label = f"z{d}: KL {stats.mean_kl[d]:.2f} nats" + \
                ("" if stats.active[d] else " (inactive)")
            with columns[rank % 2]:
                z[d] = st.slider(label, -3.0, 3.0, step=0.05, key=slider_keys[d],
                                 help="Value in prior standard deviations; starts at the "
                                      "encoded mean. KL is this dimension's average over the "
                                      "test set; inactive means Cov_x(E_q[z]) <= 0.01.")
        st.button("Reset to the encoding", key="latent_reset", on_click=reset_sliders)
    with pictures:
        shown = [] if image is None else [(image, "input")]
        shown += [(latent.decode(model, z_start)[0], "reconstruction (decoded mean)"),
                  (latent.decode(model, z)[0], "decoded slider values")]
        for column, (picture, caption) in zip(st.columns(len(shown)), shown):
            column.image(imaging.png_bytes(picture, scale=5), caption=caption, width="stretch",
                         output_format="PNG")
        st.caption(f"{int(stats.active.sum())} of {K} dimensions active.")
    st.plotly_chart(make_kl_bars_figure(stats.mean_kl, stats.active, stats.order),
                    key="latent_kl_bars", config={"displayModeBar": False}, theme=None)


with sliders_tab:
    slider_panel()

with traversal_tab:
    rows = st.slider("Dimensions shown (most informative first)", 1, K, min(6, K),
                     key="latent_traversal_rows")
    dims = [int(d) for d in stats.order[:rows]]
    codes = latent.traversal_codes(z_start, dims, steps=9)
    st.image(grid_png(latent.decode(model, codes), columns=9, scale=4),
             caption="Each row sweeps one dimension from -3 to +3 prior standard deviations "
                     "(left to right) with the others held at the encoding. Rows: "
                     + ", ".join(f"z{d}" for d in dims), output_format="PNG")

with manifold_tab:
    loaded_2d = try_load_checkpoint(checkpoint_path(VAE_2D))
    if loaded_2d is not None:
        model_2d, card_2d = loaded_2d
        n = st.slider("Grid size", 8, 25, 15, key="latent_manifold_n")
        axis, codes = latent.manifold_codes(n)
        left, right = st.columns(2)
        left.image(grid_png(latent.decode(model_2d, codes), columns=n, scale=2),
                   caption=f"Decoded grid: z = inverse Gaussian CDF of {n} evenly spaced "
                           "probabilities per axis (z1 left to right, z2 bottom to top).",
                   output_format="PNG")
        encoded_2d = test_encodings(card_2d["cache_key"], model_2d)
        with right:
            if encoded_2d is None:
                st.info("Test encodings need MNIST. " + data_missing_message())
                points, labels = np.zeros((0, 2)), np.zeros(0)
            else:
                points, labels = encoded_2d[0], encoded_2d[2]
            clicked = st.session_state.get("latent_manifold_z")
            event = st.plotly_chart(
                make_latent_scatter_figure(points, labels, click_grid=(3.0, 41), marked=clicked),
                on_select="rerun", selection_mode="points", key="latent_manifold_chart",
                config={"displayModeBar": False}, theme=None)
            picks = [p for p in event.selection.points if p.get("customdata")] if event else []
            if picks:
                st.session_state.latent_manifold_z = np.array(picks[0]["customdata"][:2])
            st.caption("Test set encodings (posterior means) coloured by digit. Click anywhere "
                       "in the plane to decode that z.")
        if st.session_state.get("latent_manifold_z") is not None:
            z_clicked = st.session_state.latent_manifold_z
            st.image(imaging.png_bytes(latent.decode(model_2d, z_clicked)[0], scale=5),
                     caption=f"decoded z = ({z_clicked[0]:.2f}, {z_clicked[1]:.2f})", output_format="PNG")

with interpolation_tab:
    if test is None:
        st.info("Interpolation between test images needs MNIST. " + data_missing_message())
    else:
        left, middle, right = st.columns(3)
        first = left.number_input("First test image (index)", 0, len(test[0]) - 1, 0,
                                  key="latent_interp_a")
        second = middle.number_input("Second test image (index)", 0, len(test[0]) - 1, 1,
                                     key="latent_interp_b")
        steps = right.slider("Steps", 3, 16, 10, key="latent_interp_steps")
        ends = latent.encode_means(model, test[0][[int(first), int(second)]])[0]
        for spherical, title in ((False, "linear"), (True, "spherical (slerp)")):
            codes = latent.interpolate(ends[0], ends[1], steps, spherical=spherical)
            st.image(grid_png(latent.decode(model, codes), columns=steps, scale=3),
                     caption=f"{title} interpolation between the two encodings", output_format="PNG")
    seed = st.number_input("Prior sample seed", 0, 10**6, 0, key="latent_sample_seed")
    samples = model.sample(64, generator=torch.Generator().manual_seed(int(seed)))[:, 0]
    st.image(grid_png(samples.cpu().numpy(), columns=16, scale=2),
             caption="64 samples: z ~ N(0, I), decoded to mean images.", output_format="PNG")

with contrast_tab:
    loaded_ae = try_load_checkpoint(checkpoint_path(AUTOENCODER))
    if loaded_ae is not None:
        autoencoder, card_ae = loaded_ae
        generator_seed = st.number_input("Seed for z ~ N(0, I)", 0, 10**6, 0,
                                         key="latent_contrast_seed")
        columns = st.columns(2)
        for column, (title, net, key) in zip(columns, (
                ("Autoencoder", autoencoder, card_ae["cache_key"]), ("VAE", model, card["cache_key"]))):
            with column:
                st.markdown(f"**{title}**")
                codes = test_encodings(key, net)
                if codes is not None:
                    st.plotly_chart(make_latent_scatter_figure(
                        latent.pca_2d(codes[0]), codes[2],
                        axis_titles=("principal component 1", "principal component 2")),
                        key=f"latent_pca_{title}", config={"displayModeBar": False}, theme=None)
                    st.caption("Test codes projected on their two principal components. The "
                               "AE's codes sit wherever is convenient, with gaps; the VAE's fill "
                               "a ball near N(0, I).")
                z = torch.randn(32, net.config.latent_dim,
                                generator=torch.Generator().manual_seed(int(generator_seed)))
                st.image(grid_png(latent.decode(net, z.numpy()), columns=8, scale=2),
                         caption="Decoding z ~ N(0, I): the VAE was trained for this, the AE "
                                 "was not.", output_format="PNG")
                accuracy = probe_accuracy(key, net)
                if accuracy is not None:
                    st.metric("Linear probe accuracy", f"{100 * accuracy:.1f} %",
                              help="A logistic regression fitted on the codes of 10,000 "
                                   "training images, scored on the 10,000 test images: the "
                                   "codes are useful features either way.")

"""The latent explorer's tabs on traversals, the 2-D latent plane and autoencoders vs VAEs
(widgets and charts; the work is in explorer/)."""

import numpy as np
import streamlit as st

from app_pages import caches
from app_pages import common as ui
from app_pages.components.latent_decoder import browser_decoder, latent_decoder
from explorer import animation, imaging, latent, selection
from explorer.figures import (
    make_correlation_figure,
    make_labelled_grid_figure,
    make_latent_scatter_figure,
    make_manifold_figure,
    signed,
)

VAE_2D, AUTOENCODER = "vae2_mnist", "ae16_mnist"
CLICK_GRID = (3.0, 41)  # the latent plane's clickable points: 41 x 41 over [-3, 3]^2
GRID_STEP = 2 * CLICK_GRID[0] / (CLICK_GRID[1] - 1)
CONTRAST_CAPTIONS = {  # (codes, prior decodes) under each column
    "Autoencoder": ("they sit wherever reconstruction found convenient: nothing pulls them "
                    "towards 𝒩(0,\u00a0I), so their spread and shape are arbitrary (compare the "
                    "axis ranges).",
                    "the autoencoder was never trained to decode these, so many are not digits."),
    "VAE": ("the KL term pulls them into one ball near 𝒩(0,\u00a0I), with few gaps.",
            "exactly what the VAE was trained for, so most read as digits."),
}


@st.fragment
def manifold_tab() -> None:
    """The 2-D VAE's decoded grid beside its test encodings; click the plane to decode."""
    loaded_2d = ui.try_load_checkpoint(ui.checkpoint_path(VAE_2D))
    if loaded_2d is None:
        return
    model_2d, card_2d = loaded_2d
    # the grid size, the clicked code's digit and the note beside the figure: under it, the
    # digit was on the second screen (and on a projector the figure's x axis too)
    figure_column, side = st.columns([4, 1] if ui.projector() else [5, 1], gap="small")
    size, decoded, note = (side.container() for _ in range(3))
    note.caption(f"This tab always uses the 2-D VAE, {VAE_2D}, whichever model is selected "
                 "above: only a 2-D latent space can be drawn as a plane.")
    n = size.slider("Grid size", 8, 25, 15, key="latent_manifold_n", **ui.keep())
    encoded_2d = caches.test_encodings(card_2d["cache_key"], model_2d)
    if encoded_2d is None:
        st.info("Test encodings need MNIST. " + ui.data_missing_message())
    points, labels = (np.zeros((0, 2)), np.zeros(0)) if encoded_2d is None \
        else (encoded_2d[0], encoded_2d[2])
    axis, codes = latent.manifold_codes(n)
    # one figure: the grid and the plane are squares of one size, level at any width
    with figure_column:
        event = ui.chart(make_manifold_figure(
            latent.decode_arrays(model_2d, codes), axis, points, labels, click_grid=CLICK_GRID,
            marked=st.session_state.get("latent_manifold_z")), key="latent_manifold_chart",
            filename=f"vae2_manifold_{n}", projector_height=540, on_select="rerun",
            selection_mode="points")
    picked = selection.clicked_xy(event)
    shown = st.session_state.get("latent_manifold_z")
    if picked is not None and (shown is None or tuple(np.round(shown, 6)) !=
                               tuple(np.round(np.float32(picked), 6))):
        # redraw at once with the cross on the new point: the chart's next click then
        # starts from a figure that already shows this one (else every second click was
        # taken as undoing the first)
        st.session_state.latent_manifold_z = np.array(picked, dtype=np.float32)
        st.rerun(scope="fragment")
    left, right = st.columns(2)
    left.caption(f"Decoded grid: {n} codes per axis (z0 left to right, z1 bottom to top), "
                 "spaced so that each cell holds an equal share of the prior's mass (dense "
                 "near 0, sparse in the tails); the ticks name the codes. Click a cell to "
                 "decode its code beside the figure.")
    right.caption("Test set encodings (posterior means) coloured by digit. Click anywhere "
                  f"in the plane to decode the z nearest the pointer on a grid {GRID_STEP:.2f} "
                  "apart; the hover label shows it.")
    z_clicked = st.session_state.get("latent_manifold_z")
    with decoded:
        if z_clicked is not None:
            st.image(imaging.png_bytes(latent.decode_arrays(model_2d, z_clicked)[0], scale=5),
                     caption=f"decoded z = ({signed(z_clicked[0])}, {signed(z_clicked[1])})",
                     output_format="PNG", width=140 if ui.projector() else 90)
        else:
            st.caption("Click the plane or the grid: the code's digit appears here.")
    st.markdown("**Hover to decode**: the digit follows the pointer over the latent plane, "
                "decoded in this browser.")
    # it starts at the clicked z, so the two decoders of this tab agree
    latent_decoder(browser_decoder(card_2d["cache_key"], model_2d),
                   np.zeros(2, np.float32) if z_clicked is None else np.float32(z_clicked),
                   [0, 1], ["z0", "z1"], key="latent_plane")  # as the axes above and the sliders


@st.fragment
def contrast_tab(model, card: dict) -> None:
    """An autoencoder's codes and prior decodes beside the VAE's."""
    loaded_ae = ui.try_load_checkpoint(ui.checkpoint_path(AUTOENCODER))
    if loaded_ae is None:
        return
    nets = (("Autoencoder", loaded_ae[0], loaded_ae[1]), ("VAE", model, card))
    # one row of two columns per kind of thing, so each row starts level on both sides
    # (captions of different lengths no longer push one side's pictures down)
    encodings = [caches.test_encodings(net_card["cache_key"], net) for _, net, net_card in nets]
    for column, (title, _net, _card), codes in zip(st.columns(2), nets, encodings):
        column.markdown(f"**{title}**")
        if codes is not None:
            with column:
                ui.chart(make_latent_scatter_figure(latent.pca_2d(codes[0]), codes[2],
                                                    axis_titles=("principal component 1",
                                                                 "principal component 2")),
                         key=f"latent_pca_{title}", filename=f"codes_pca_{title.lower()}",
                         projector_height=540)
    for column, (title, _net, _card), codes in zip(st.columns(2), nets, encodings):
        if codes is not None:
            column.caption("Test codes on their two principal components: "
                           + CONTRAST_CAPTIONS[title][0])
    # the seed drives the decodes below it (above the scatters it pushed them off a projector)
    seed = st.number_input(r"Seed for $z \sim \mathcal{N}(0, I)$", 0, 10**6, 0, width=360,
                           key="latent_contrast_seed", **ui.keep())
    grids = [ui.grid_png(latent.prior_codes(32, net.config.latent_dim, int(seed)), net, 8, 2)
             for _, net, _card in nets]
    for column, (title, _net, _card), png in zip(st.columns(2), nets, grids):
        column.image(png, caption="Decoding z ∼ 𝒩(0,\u00a0I): " + CONTRAST_CAPTIONS[title][1],
                     output_format="PNG")
    for column, (title, _net, _card), png in zip(st.columns(2), nets, grids):
        with column:  # the buttons' own row: level, however the captions wrap
            ui.download_png(png, f"{title.lower()}_prior_seed{seed}")
    for column, (_title, net, net_card) in zip(st.columns(2), nets):
        accuracy = caches.probe_accuracy(net_card["cache_key"], net)
        if accuracy is not None:
            column.metric("Linear probe accuracy", f"{100 * accuracy:.1f}%",
                          help="A logistic regression fitted on the codes of 10,000 training "
                               "images, scored on the 10,000 test images: the codes are "
                               "useful features either way.")
        if net_card.get("digit_likeness") is not None:
            column.metric("Digit-likeness of decoded 𝒩(0,\u00a0I) samples",
                          f"{100 * net_card['digit_likeness']:.1f}%",  # as the probe's
                          help="How sure a digit classifier (99.45% on real test digits) is, "
                               "on average, that a decoded prior sample is some digit (200 "
                               "samples, from the card; a proxy, not a likelihood).")


@st.fragment
def traversals_tab(model, name: str, stats, z_start: np.ndarray) -> None:
    """Each row sweeps one dimension from -3 to +3 with the others held at the encoding
    `z_start` (float32, shape (K,)); rows are the most informative dimensions first."""
    K = model.config.latent_dim
    if ui.projector():  # the controls beside the grid: it fills a projector's first screen
        grid, controls = st.columns([3, 1])
        shown = gif = save = words = controls
    else:  # one row of controls above it
        shown, gif, save = st.columns([2, 1, 1], vertical_alignment="bottom")
        grid = words = st.container()
    rows = shown.slider("Dimensions shown (most informative first)", 1, K, min(6, K),
                        key="latent_traversal_rows", **ui.keep())
    dims = [int(d) for d in stats.order[:rows]]
    animated = gif.selectbox("Animate one dimension as a GIF", dims, key="latent_gif_dim",
                             format_func=lambda d: f"z{d}")
    codes = latent.traversal_codes(z_start, [animated], steps=25)
    save.download_button("Save as a GIF", key="latent_traversal_gif",
                       file_name=ui.safe_filename(f"{name}_traversal_z{animated}.gif"),
                       mime="image/gif", icon=":material/animated_images:", on_click="ignore",
                       data=lambda: animation.gif_bytes(animation.there_and_back(
                           list(latent.decode_arrays(model, codes)))))
    values = np.linspace(-3, 3, 9)
    with grid:
        ui.chart(make_labelled_grid_figure(
            latent.decode_arrays(model, latent.traversal_codes(z_start, dims, steps=9)),
            [f"z{d}" for d in dims], [f"{v:g}".replace("-", "−") for v in values],
            "value of the swept dimension (prior standard deviations)", "dimension swept"),
            key="latent_traversal_grid", filename=f"{name}_traversals", projector_height=500)
    words.caption("Each row sweeps one dimension from −3 to +3 prior standard deviations "
                  "(left to right) with the others held at the encoding.")


@st.fragment
def independence_tab(model, card: dict, stats) -> None:
    """The prior is a product of independent 1-D Gaussians; how independent are the codes?"""
    lead = st.container()  # the idea; on a projector beside the map, which then starts higher
    encoded = caches.test_encodings(card["cache_key"], model)
    if encoded is None:
        _factorised_prior(lead)
        st.info("The correlations need the MNIST test set. " + ui.data_missing_message())
        return
    correlations = latent.code_correlations(encoded[0])
    order = latent.active_order(stats.order, stats.active)  # the collapsed ones are noise
    if len(order) < 2:
        _factorised_prior(lead)
        st.caption(latent.independence_summary(correlations, stats.active))
        return
    square, words = st.columns([3, 2])  # a square map: its colour bar stays beside it
    _factorised_prior(words, beside=True) if ui.projector() else _factorised_prior(lead)
    with square:
        ui.chart(make_correlation_figure(correlations[np.ix_(order, order)], order),
                 key="latent_correlations", filename=f"code_correlations_{card['cache_key']}",
                 projector_height=580)  # on a projector as large as the first screen allows
    words.caption(latent.independence_summary(correlations, stats.active)
               + " Active dimensions only, ordered by KL, most informative first"
               + latent.inactive_note(stats.active))


def _factorised_prior(parent, beside: bool = False) -> None:
    """Why a diagonal prior makes the sliders act one factor at a time (in `parent`; the
    correlation map stands beside it, or below)."""
    parent.markdown("The prior factorises over the latent dimensions,")
    parent.latex(r"p(z) = \mathcal{N}(0, I) = \prod_{k=1}^{K} \mathcal{N}(z_k; 0, 1),")
    parent.markdown("so the KL term pulls the encoder's codes towards independent coordinates. "
                    "When the codes of the data are close to independent, each slider moves "
                    "z along an axis of its own that the others do not undo. An axis need not "
                    "be one factor a person would name: the traversals show what each does. "
                    + ("Beside" if beside else "Below")
                    + ": correlations between dimensions of the posterior means over the "
                    "10,000 test images.")

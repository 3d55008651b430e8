"""PixelCNN sampling: step through autoregressive generation pixel by pixel."""

import streamlit as st

from app_pages import ar_sampler, ar_views, caches, links, presenter
from app_pages import common as ui
from explorer import animation, imaging, quality, sampling

AR_MODELS = ("GatedPixelCNN", "MaskedPixelCNN", "PixelTransformer")
GATED, MASKED = "gated_pixelcnn_mnist", "masked_pixelcnn_mnist"
MODEL_TITLES = ar_views.MODEL_TITLES
SPEEDS = {"pixel by pixel": 1, "a row per frame": 28, "instant": 784}
TABS = ["Sample", "Receptive field", "Completion", "Likelihood", "Cost", "Colour images"]

st.title("PixelCNN sampling, pixel by pixel")
# the gallery and the model's figures stand beside the intro: the page's top takes one row
# (on a laptop the sampler then starts on the first screen); on a projector both fold
words, aside = st.columns(2 if ui.projector() else [3, 2], gap="medium")
with words:
    ui.intro(
        "An autoregressive model reads an image as a sequence of 784 grey levels in scanline "
        "order. Each step is a 256-way classification of the next pixel given all earlier "
        "ones, and the image's probability is the product of those per-pixel probabilities:",
        r"p(x) = \prod_{k=1}^{784} p(x_k \mid x_1, \ldots, x_{k-1})")

cards = {c["name"]: c for c in ui.checkpoint_cards()
         if c.get("model") in AR_MODELS and "error" not in c}
if not cards:
    st.error("No autoregressive checkpoint in checkpoints/. Train one: "
             "`python -m explorer.train pixelcnn --out checkpoints/gated_pixelcnn_mnist`.")
    st.stop()


def describe(name: str) -> str:
    """'Gated PixelCNN' (with the file name when it is not a shipped one): short, and stable
    in links."""
    title = MODEL_TITLES.get(cards[name]["model"], cards[name]["model"])
    return title if name in (GATED, MASKED, "pixel_transformer_mnist") else f"{title} ({name})"


left, middle, right, far, steer = st.columns([3, 1, 2, 1, 2], vertical_alignment="bottom")
name = left.selectbox("Model", sorted(cards, key=lambda n: (n != GATED, n)), key="ar_model",
                      format_func=describe, **ui.keep())
loaded = ui.try_load_checkpoint(ui.checkpoint_path(name))
if loaded is None:
    st.stop()
model, card = loaded
seed = int(middle.number_input("Seed", 0, 10**6, 0, key="ar_seed", **ui.keep()))
temperature = right.slider("Temperature", 0.05, 3.0, 1.0, 0.05, key="ar_temperature", **ui.keep(),
                           help="Divides the logits before the softmax: < 1 sharpens, > 1 "
                                "flattens. The ledger always uses the model's own p (T = 1).")
label_choice = far.selectbox("Class", ["none"] + [str(d) for d in range(10)], key="ar_class",
                             **ui.keep(), help="Digit to condition on.") if model.num_classes \
    else far.selectbox("Class", ["none"], key="ar_class_none", disabled=True,  # not the kept
                       help="This model is unconditional.")  # digit, which it ignores
label = None if label_choice == "none" or not model.num_classes else int(label_choice)
guidance = steer.slider(  # Bayes' rule at work: the model is its own classifier
    "Guidance w", 0.0, 5.0, 0.0, 0.5, format="%.1f", key="ar_guidance",
    **ui.keep(disabled=label is None),
    help="Classifier-free guidance (Ho & Salimans 2022): each pixel is drawn from "
         "p(x | earlier, class) · p(class | earlier, x)^w, the second factor by Bayes' rule from "
         "the model's own class-free p. w = 0 is the model itself; larger w draws digits a "
         "classifier reads more surely, with less variety. Needs a class; the ledger keeps "
         "the model's own p.")
sampler = sampling.session_sampler(st.session_state, card["cache_key"], seed, label,
                                   temperature, st.session_state.get("ar_greedy", False),
                                   guidance if label is not None else 0.0)
bits = card.get("test_bits_per_dim")
card_figures = ((f"Test likelihood: {bits:.3f} bits/dim (exact, 10,000 test images). "
                 if bits else "") + (quality.summary_of(card) or "")
                + " The classifier check is a proxy for sample quality, not a likelihood.")
if not ui.projector():  # under the formula, level with the gallery's own words
    words.caption(card_figures)
with ui.folded_on_projector("This model's likelihood, and ten samples a classifier reads",
                            ":material/grid_view:", parent=aside):
    ar_views.sample_gallery(model, card, name, per_row=10 if ui.projector() else 5,
                            more=card_figures if ui.projector() else "")
    if (accuracy := card.get("sample_class_accuracy")) is not None and accuracy < 0.5:
        st.warning(f"This model is undertrained: a classifier recognises only {accuracy:.0%} "
                   "of its samples as the digit asked for. It was trained for "
                   f"{card.get('epochs', 0):g} epochs on a 2-core CPU (the README gives the "
                   "recipe for more); the Gated PixelCNN draws digits.",
                   icon=":material/warning:")
sampler, link_problems = ar_views.link_run(sampler, model, card["cache_key"])


@st.fragment
def sample_tab() -> None:
    """Step buttons, the image being drawn, the bits ledger and the last pixel's 256 bars.
    A follower's copy holds the watcher: a presenter's step redraws this tab alone."""
    sampler = st.session_state.ar_sampler
    if presenter.catch_up(ar_views.RUN_PARAMS):
        sampler = ar_views.link_run(sampler, model, card["cache_key"])[0]
    following = ui.following()  # a follower's view is driven by the presenter: no controls
    # (fewer elements also make each of a classroom's redraws cheaper)
    # one row with even gaps (five equal columns left uneven gaps after buttons of unequal
    # width); its slots are filled after any animation; a sixth holds Greedy (it matters
    # here only) and in projector view a seventh the chart's log-scale switch
    row = None if following else st.container(horizontal=True, vertical_alignment="center")
    projector = ui.projector()
    slots = 7 if projector else 6
    buttons = None if row is None else [row.container(width="content") for _ in range(slots)]
    if following:
        st.caption("The presenter steps this sampler; **Explore on my own** in the sidebar "
                   "lets you step it yourself.")
    canvas_column, detail_column = st.columns([2, 3])
    canvas = canvas_column.container(key="ar_canvas").empty()  # no fullscreen (common.py)
    side = 470 if projector else "content"  # px: on a projector the canvas fits the screen
    running = st.session_state.pop("ar_running", False) and not following
    if buttons is not None:
        speed = buttons[3].selectbox("Speed", list(SPEEDS), index=1, key="ar_speed",
                                     label_visibility="collapsed", persist_state="session",
                                     width=260)
        sampler.greedy = buttons[5].toggle("Greedy", key="ar_greedy", **ui.keep(),
                                           help="Always take the most likely level instead "
                                                "of sampling.")
        while running and not sampler.done:  # animate: repaint after each frame of pixels
            sampling.advance(sampler, model, SPEEDS[speed])
            canvas.image(imaging.sampling_canvas(sampler.image[0, 0].cpu().numpy(),
                                                 sampler.position, scale=12),
                         output_format="PNG", width=side)
        buttons[0].button("Step 1 pixel", key="ar_step", disabled=sampler.done,
                          on_click=sampling.advance, args=(sampler, model, 1))
        buttons[1].button("Step 1 row", key="ar_row", disabled=sampler.done,
                          on_click=sampling.advance_row, args=(sampler, model))
        buttons[2].button("Run to the end", key="ar_run", disabled=sampler.done,
                          on_click=st.session_state.__setitem__, args=("ar_running", True))
        buttons[4].button("Reset", key="ar_reset", on_click=sampler.reset)
    if presenter.presenting():  # before the link changes: followers replay from this run
        caches.share_run(sampler, card["cache_key"])
    links.put(ar_steps=sampler.position or None,
              ar_forced=sampling.format_forced(sampling.forced_values(sampler)))
    drawn = sampler.image[0, 0].cpu().numpy().copy()
    canvas.image(caches.sampling_canvas(drawn, sampler.position, 12), output_format="PNG", width=side,
                 caption="Orange: the pixel just sampled. Pale: pixels still to come.")
    stem = ui.safe_filename(f"{name}_seed{seed}_class{label_choice}_T{temperature:g}_"
                            + (f"w{sampler.guidance:g}_" if sampler.guidance else "")
                            + f"{sampler.position}px")
    with canvas_column:  # the run so far, a frame per row, for lecture notes
        st.download_button("Save the sampling run as a GIF", key="ar_gif", file_name=stem + ".gif",
                           mime="image/gif", icon=":material/animated_images:", on_click="ignore",
                           data=lambda: animation.gif_bytes(animation.sampling_frames(
                               drawn, sampler.position)), disabled=not sampler.position,
                           help=None if sampler.position else "Sample some pixels first: the "
                           "GIF shows the run so far, a frame per row.")
    with detail_column:
        ar_sampler.pixel_panel(sampler, following, buttons[6] if projector and buttons else None)

tabs = ui.lazy_tabs(TABS, key="ar_tab")
views = (sample_tab, lambda: ar_views.receptive_field_tab(sampler, label, cards),
         lambda: ar_views.completion_tab(model, sampler, label, temperature, seed,
                                         card["cache_key"]),
         lambda: ar_views.likelihood_tab(model, label), lambda: ar_views.cost_tab(model, card),
         ar_views.colour_tab)
for tab, view in zip(tabs, views):
    with tab:
        if tab.open:
            view()
links.check(["ar_model", "ar_seed", "ar_temperature", "ar_class", "ar_guidance", "ar_greedy",
             "ar_tab"],
            {"ar_model": describe}, link_problems)

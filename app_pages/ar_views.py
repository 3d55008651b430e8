"""The PixelCNN page's analysis tabs: measured receptive fields, likelihoods of digits and of
non-digits, and the cost of sampling (widgets and charts; the work is in explorer/)."""

import time

import streamlit as st

from app_pages import caches, links
from app_pages import common as ui
from explorer import data, imaging, likelihood_probe, receptive_field, sampling, sampling_cost, subpixel_order
from explorer.figures import make_heatmap_figure, make_subpixel_figure

GATED, MASKED = "gated_pixelcnn_mnist", "masked_pixelcnn_mnist"
MODEL_TITLES = {"GatedPixelCNN": "Gated PixelCNN", "MaskedPixelCNN": "Masked PixelCNN",
                "PixelTransformer": "Pixel Transformer"}
RUN_PARAMS = ("ar_steps", "ar_forced")  # the sampling run's link parameters


def link_run(sampler: sampling.PixelSampler, model, model_key: str
             ) -> tuple[sampling.PixelSampler, list[str | None]]:
    """The sampling run a newly opened link (or a presenter's update) asks for, replayed
    from its seed; else `sampler` as it is. Also the link's problems, for links.check. A
    presenter's update without pixels (they pressed Reset) resets a follower."""
    fresh = RUN_PARAMS[0] not in st.session_state.get("_link_consumed", set())
    steps, steps_problem = links.consume(RUN_PARAMS[0], sampling.parse_steps)
    forced, forced_problem = links.consume(RUN_PARAMS[1], sampling.parse_forced)
    if steps is None and fresh and ui.following():
        steps = 0
    if steps is not None:
        try:  # followers in this process share one replay
            sampler = caches.replayed(sampler, model, model_key, steps, forced or {})
            st.session_state.ar_sampler = sampler
        except sampling.SamplingError as exc:
            steps_problem = f"`ar_steps={steps}` ({exc})"
    return sampler, [steps_problem, forced_problem]


def sample_gallery(model, card: dict, name: str, per_row: int = 10, more: str = "") -> None:
    """What the selected model draws: ten samples from the fixed quality seed, read by the
    shipped digit classifier, so the page shows digits before anyone presses a button;
    `per_row` digits to a row (5: two rows, for a column beside the intro), and `more`
    words after the caption's own (the model card's figures: one caption, not two)."""
    shown = caches.sample_gallery(card["cache_key"], model)
    rows = ", left to right" if per_row == 10 else " (0 to 4 above, 5 to 9 below)"
    asked = f"asked for 0 to 9{rows}" if shown.requested is not None \
        else "drawn without a class"
    ui.picture(imaging.png_bytes(imaging.grid(shown.images, per_row, pad=2, pad_value=0.3), scale=2),
               f"What this model draws (a fixed gallery: seed 0, T = 1, {asked}; the "
               f"Seed box drives the sampler below). {shown.sentence()} {more}".strip(),
               f"{name}_gallery")


@st.fragment
def receptive_field_tab(sampler: sampling.PixelSampler, label: int | None,
                        cards: dict) -> None:
    """Measured receptive fields of the gated and the masked model at the next pixel."""
    # before the first steps there is nothing above the next pixel to see: show the centre
    centre = (sampler.height // 2) * sampler.width + sampler.width // 2
    position = min(sampler.position, sampler.total - 1) if sampler.position >= sampler.width \
        else centre
    row, col = divmod(position, sampler.width)
    where = "" if sampler.position >= sampler.width else (
        " (the centre pixel, as the sampler has not reached its second row: once it has, "
        "this map follows the next pixel)")
    above = st.container()  # the words; on a projector they follow the maps, which then
    maps = {}  # start on the first screen
    for column, other in zip(st.columns(2), (GATED, MASKED)):
        pair = ui.try_load_checkpoint(ui.checkpoint_path(other)) if other in cards else None
        if pair is None:
            column.info(f"`{other}` is not available.")
            continue
        field = receptive_field.influence_map(pair[0], sampler.image[0, 0], label, position)
        maps[MODEL_TITLES.get(pair[1]["model"], pair[1]["model"])] = field
        with column:
            figure = make_heatmap_figure(field.display(), "influence<br>(of the largest)",
                                         title=MODEL_TITLES.get(pair[1]["model"],
                                                                pair[1]["model"]),
                                         mark=(row, col),
                                         colorscale="Viridis")
            figure.update_traces(colorbar=dict(tickvals=[0, 2, 4, 6],  # display() is log10 + 6
                                               ticktext=["10⁻⁶", "10⁻⁴", "10⁻²", "1"]))
            ui.chart(figure, key=f"ar_field_{other}",  # on a projector, as large as fits
                     filename=f"receptive_field_{other}_pixel_{position}",  # the screen
                     projector_height=600)
            st.caption(f"{field.influencing} of {field.earlier} earlier pixels influence it. "
                       "Cyan square: the pixel predicted next. White: no influence at all.")
    (st if ui.projector() else above).markdown(
        f"Which earlier pixels can change the prediction for pixel **{position}** (row {row}, "
        f"column {col}){where}, measured as "
        r"${\lvert \partial\,\text{logits} / \partial\,\text{input} \rvert}$ on the "
        "current image. Stacked masked convolutions miss a wedge above and to the right (the "
        "blind spot); the gated PixelCNN's two stacks do not. Pixels far from it can also lie "
        "beyond a stack's reach.")
    st.caption(receptive_field.describe(maps))


@st.fragment
def likelihood_tab(model, label: int | None) -> None:
    """bits/dim of a digit and of inputs unlike digits, with per-pixel maps."""
    test = ui.load_split("mnist", "test")
    fashion = data.load("fashion_mnist", "test").images[0, 0].numpy() \
        if data.is_available("fashion_mnist") else None
    inputs = likelihood_probe.probe_inputs(
        None if test is None else test[0][likelihood_probe.PROBE_DIGIT_INDEX, 0].numpy(), fashion)
    scores, bits = likelihood_probe.score(model, inputs, label)
    given = (f"Every input is scored given the class chosen above, **{label}**: set Class to "
             "none for the model's unconditional view. " if label is not None
             else "Scored without a class. ")
    words = st.container()  # on a projector after the comparison, which then starts higher
    # a row per kind (inputs, scores, maps), so each starts level across the columns
    # however a caption wraps ("rolled digit (wraps around)" took two lines at 1280); on a
    # projector each input and its map stand side by side, so all lie on the first screen
    pairs = [column.columns(2) if ui.projector() else (column, None)
             for column in st.columns(len(inputs))]
    for (left, _), (title, picture) in zip(pairs, inputs.items()):
        left.image(imaging.png_bytes(picture, scale=4), caption=title, output_format="PNG",
                   width="stretch")  # one size in every column, as the maps
    maps = [imaging.heat_png(heat, vmax=12.0) for heat in bits]
    for column, heat in zip(st.columns(len(inputs)), bits):
        column.metric("bits/dim", f"{heat.mean():#.3g}", help="−log₂ p(x) / 784 under the "
                      "model, in bits per grey level: lower means more likely.")
    # the maps beside their inputs on a projector, else a row of their own
    places = [right for _, right in pairs] if ui.projector() else st.columns(len(inputs))
    for place, picture in zip(places, maps):
        place.image(picture, output_format="PNG", caption="bits per pixel", width="stretch")
    (st if ui.projector() else words).caption(
        given + likelihood_probe.verdict(scores) + (" Beside" if ui.projector() else " Below")
        + " each input: the bits each pixel "
        r"costs, ${-\log_2 p(\text{pixel} \mid \text{earlier pixels})},$ from 0 (black) "
        "through purple and orange to 12 or more (pale yellow).")
    if fashion is None:  # a setup note, under the comparison rather than before it
        st.caption("A clothing image (Fashion-MNIST) joins these inputs when that data set is "
                   "on disk: `python -m explorer.data download fashion_mnist`.")


@st.fragment
def cost_tab(model, card: dict) -> None:
    """Why sampling is slow: one sequential step per generated unit."""
    per_step = caches.sampling_step_seconds(card["cache_key"], model)
    side = st.select_slider("Image side (pixels)", [28, 64, 256, 512, 1024], 1024,
                            key="ar_cost_side", **ui.keep())
    unit = st.select_slider("One step generates", list(sampling_cost.UNITS), "subpixels",
                            key="ar_cost_unit", **ui.keep())
    cost = sampling_cost.sampling_cost(side, unit, per_step)
    a, b, c = st.columns(3)
    a.metric("Subpixel steps (RGB)", f"{cost.subpixel_steps:,}",
             help="An N x N colour image has N * N * 3 subpixels, each one 256-way choice "
                  "(a grey 28 x 28 digit has 784).")
    b.metric("Sequential steps", f"{cost.sequential_steps:,}",
             help="Network evaluations one after another.")
    c.metric("Time at the measured step cost", sampling_cost.format_duration(cost.seconds),
             help=f"Measured here: {sampling_cost.format_duration(per_step)} per step for "
                  "this model (fast path, batch 1). Bigger models cost more per step.")
    st.caption("Generating patches trades fewer sequential steps for a harder per-step "
               "distribution, which is why modern models predict tokens of patches.")


@st.fragment
def colour_tab() -> None:
    """Colour images: subpixels in order R, G, B within each pixel, pixels in scanline order."""
    st.markdown("A colour image has three subpixels per pixel. PixelRNN and PixelCNN sample "
                "them in order: pixels in scanline order, and within a pixel R, then G, then "
                "B, each conditioned on everything sampled before it:")
    st.latex(r"p(x_i \mid x_{<i}) = p(R_i \mid x_{<i})\, p(G_i \mid x_{<i}, R_i)\, "
             r"p(B_i \mid x_{<i}, R_i, G_i)")
    side = 4
    step = st.slider("Sampling step (subpixel)", 0, side * side * 3 - 1, 4, key="ar_rgb_step",
                     **ui.keep(), help="One step is one 256-way choice of one subpixel.")
    seen = subpixel_order.context(step, side, side)
    left, right = st.columns([3, 2])
    with left:
        ui.chart(make_subpixel_figure(seen, subpixel_order.position(step, side)),
                 key="ar_rgb_grid", filename=f"subpixel_order_step_{step}")
        st.caption(subpixel_order.factorisation(step, side) + ". Filled cells: the context; "
                   "orange: the subpixel sampled now; pale: later steps.")
    with right:
        st.markdown("Inside a masked convolution the centre pixel's channels are wired so "
                    "that each channel sees only the channels before it (mask A, first layer) "
                    "or also its own features (mask B, later layers):")
        for mask in ("A", "B"):
            st.dataframe({"output": list(subpixel_order.CHANNELS)}
                         | {f"sees {c}": list(subpixel_order.channel_mask(mask)[:, i])
                            for i, c in enumerate(subpixel_order.CHANNELS)},
                         hide_index=True, width="content")
            st.caption(f"Mask {mask}: each row is an output channel; 1 = connected.")


@st.fragment
def completion_tab(model, sampler: sampling.PixelSampler, label: int | None,
                   temperature: float, seed: int, model_key: str) -> None:
    """Keep the top rows of a test digit and let the model draw the rest, four times (only
    completions made with the current model and settings are shown)."""
    test = ui.load_split("mnist", "test")
    # one row of controls, so the five images start on a projector's first screen
    image_column, rows_column, button_column = st.columns([1, 2, 1], vertical_alignment="bottom")
    if test is None:
        st.info("Completion of test digits needs MNIST; completing the image sampled on the "
                "first tab instead. " + ui.data_missing_message())
        source = sampler.image[0, 0].cpu()
    else:
        index = image_column.number_input("Test image (index)", 0, len(test[0]) - 1, 0,
                                          key="ar_complete_index", **ui.keep())
        source = test[0][int(index), 0]
    rows = rows_column.slider("Rows kept from the top", 0, 27, 14, key="ar_complete_rows",
                              **ui.keep())
    guidance = sampler.guidance if label is not None else 0.0  # the Guidance box's
    made_with = (model_key, seed, label, temperature, guidance, int(source.sum()))  # checksum
    st.caption(("Completed given the class chosen above, **" + str(label) + "**: the model "
                "draws that digit whatever the kept rows began." if label is not None
                else "Completed without a class: the model continues what the kept rows "
                "suggest.") + f" Temperature {temperature:g}, seed {seed}"
               + (f", guidance w = {guidance:g}." if guidance else "."))
    if button_column.button("Complete it 4 times", key="ar_complete"):
        bar, started = st.progress(0.0, text="Sampling the missing rows..."), time.monotonic()

        def progress(done: int, total: int) -> None:  # rows done, and a time estimate
            left = (time.monotonic() - started) * (total - done) / max(done, 1)
            bar.progress(done / total, text=f"{done} of {total} pixels sampled (4 images at "
                         f"once), about {sampling_cost.format_duration(left, 2)} left")
        st.session_state.ar_completions = (sampling.complete(
            model, source, rows, 4, label, temperature, seed, progress, guidance), rows,
            made_with)
        bar.empty()
    shown = [(sampling.keep_rows(source, rows), f"kept: top {rows} rows")]
    kept = st.session_state.get("ar_completions")
    if kept is not None and kept[2:] != (made_with,):  # another model, seed, class or image
        st.caption("The last completions were made with other settings; press the button to "
                   "complete this image with these.")
        kept = None
    if kept is not None:
        completions, done_rows = kept[:2]
        shown += [(image, f"completion {i + 1}" + (f" (of {done_rows} rows)" if done_rows != rows
                                                   else "")) for i, image in enumerate(completions)]
    for column, (picture, caption) in zip(st.columns(5), shown):  # five images of one size
        column.image(imaging.png_bytes(picture, scale=5), caption=caption, output_format="PNG",
                     width="stretch")

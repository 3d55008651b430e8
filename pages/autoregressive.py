"""PixelCNN sampling: step through autoregressive generation pixel by pixel."""

import time

import numpy as np
import streamlit as st
import torch

from explorer import checkpoints, data, imaging, sampling
from explorer.figures import make_distribution_figure, make_heatmap_figure
from pages.common import checkpoint_path, data_missing_message, load_split, try_load_checkpoint

AR_MODELS = ("GatedPixelCNN", "MaskedPixelCNN", "PixelTransformer")
GATED, MASKED = "gated_pixelcnn_mnist", "masked_pixelcnn_mnist"
SPEEDS = {"pixel by pixel": 1, "a row per frame": 28, "instant": 784}

st.title("PixelCNN sampling, pixel by pixel")
st.markdown(
    "An autoregressive model reads an image as a sequence of 784 grey levels in scanline "
    "order. Each step is a 256-way classification of the next pixel given all earlier ones, "
    "and the image's probability is the product of those per-pixel probabilities. Sampling "
    "therefore takes one network step per pixel, which is why it is slow.")

cards = {c["name"]: c for c in checkpoints.available()
         if c.get("model") in AR_MODELS and "error" not in c}
if not cards:
    st.error("No autoregressive checkpoint in checkpoints/. Train one: "
             "`python -m explorer.train pixelcnn --out checkpoints/gated_pixelcnn_mnist`.")
    st.stop()
names = sorted(cards, key=lambda n: (n != GATED, n))
left, middle, right, far = st.columns([2, 1, 1, 1])


def describe(checkpoint: str) -> str:
    bits = cards[checkpoint].get("test_bits_per_dim")
    return f"{checkpoint} ({cards[checkpoint]['model']}, " + \
        (f"{bits:.3f} bits/dim)" if bits is not None else "not evaluated yet)")


name = left.selectbox("Model", names, key="ar_model", format_func=describe)
loaded = try_load_checkpoint(checkpoint_path(name))
if loaded is None:
    st.stop()
model, card = loaded
seed = middle.number_input("Seed", 0, 10**6, 0, key="ar_seed")
temperature = right.slider("Temperature", 0.05, 3.0, 1.0, 0.05, key="ar_temperature",
                           help="Divides the logits before the softmax: < 1 sharpens, > 1 "
                                "flattens. The ledger always uses the model's own p (T = 1).")
label_choice = far.selectbox("Class", ["none"] + [str(d) for d in range(10)], key="ar_class",
                             disabled=not model.num_classes,
                             help="Digit to condition on; this model is unconditional"
                             if not model.num_classes else "Digit to condition on.")
greedy = st.toggle("Greedy (always take the most likely level)", key="ar_greedy")
label = None if label_choice == "none" or not model.num_classes else int(label_choice)

state_key = (card["cache_key"], int(seed), label)
if st.session_state.get("ar_state_key") != state_key:
    st.session_state.ar_state_key = state_key
    st.session_state.ar_sampler = sampling.PixelSampler(label=label, seed=int(seed))
sampler: sampling.PixelSampler = st.session_state.ar_sampler
sampler.temperature, sampler.greedy = float(temperature), greedy


def advance(count: int) -> None:
    with torch.no_grad():
        for _ in range(min(count, sampler.total - sampler.position)):
            sampler.step(model)


def ledger(container) -> None:
    a, b, c = container.columns(3)
    a.metric("Pixels sampled", f"{sampler.position} / {sampler.total}")
    b.metric("-log2 p so far", f"{sampler.bits_so_far:.1f} bits",
             help="Sum over sampled pixels of -log2 p(x_k | x_<k): the log of the product of "
                  "the per-pixel probabilities, i.e. the image's likelihood so far.")
    c.metric("bits/dim so far", f"{sampler.bits_per_dim:.3f}",
             help="-log2 p so far divided by the pixels sampled.")


steps_tab, field_tab, completion_tab, likelihood_tab, cost_tab = st.tabs(
    ["Sample", "Receptive field", "Completion", "Likelihood", "Cost"])

with steps_tab:
    buttons = st.columns(5)
    if buttons[0].button("Step 1 pixel", key="ar_step", disabled=sampler.done):
        advance(1)
    if buttons[1].button("Step 1 row", key="ar_row", disabled=sampler.done):
        advance(sampler.width - sampler.position % sampler.width)
    run = buttons[2].button("Run to the end", key="ar_run", disabled=sampler.done)
    speed = buttons[3].selectbox("Speed", list(SPEEDS), index=1, key="ar_speed",
                                 label_visibility="collapsed")
    if buttons[4].button("Reset", key="ar_reset"):
        sampler.reset()
    canvas_column, detail_column = st.columns([2, 3])
    canvas = canvas_column.empty()
    ledger_box = detail_column.container()
    if run:
        while not sampler.done:  # animate: repaint after each frame's worth of pixels
            advance(SPEEDS[speed])
            canvas.image(imaging.sampling_canvas(sampler.image[0, 0].cpu().numpy(),
                                                 sampler.position, scale=12),
                         output_format="PNG")
            time.sleep(0.01)
        st.rerun()  # redraw the controls for a finished image
    canvas.image(imaging.sampling_canvas(sampler.image[0, 0].cpu().numpy(), sampler.position,
                                         scale=12), output_format="PNG",
                 caption="Orange: the pixel just sampled. Pale: pixels still to come.")
    ledger(ledger_box)
    with detail_column:
        if sampler.history:
            last = sampler.history[-1]
            st.caption(f"Pixel {last.index} (row {last.row}, column {last.col}): entropy "
                       f"{last.entropy_bits:.2f} bits, took {last.value} with p = "
                       f"{last.model_probabilities[last.value]:.3f} ({last.bits:.2f} bits)"
                       + (", forced" if last.forced else ""))
            event = st.plotly_chart(
                make_distribution_figure(last.probabilities, last.value, last.model_probabilities),
                on_select="rerun", selection_mode="points", key="ar_distribution",
                config={"displayModeBar": False}, theme=None)
            picked = [p.get("customdata") for p in (event.selection.points if event else [])]
            choice = (last.index, picked[0]) if picked and picked[0] is not None else None
            if choice and st.session_state.get("ar_last_force") != choice:
                st.session_state.ar_last_force = choice
                sampler.force(int(choice[1]))
                st.rerun()
            force_column, button_column = st.columns([2, 1])
            value = force_column.number_input("Force this pixel to grey level", 0, 255,
                                              last.value, key="ar_force_value")
            if button_column.button("Force", key="ar_force"):
                try:
                    sampler.force(int(value))
                    st.rerun()
                except sampling.SamplingError as exc:
                    st.error(str(exc))
            st.caption("Click a bar (or type a level) to force the pixel; the next steps are "
                       "sampled given it.")
        else:
            st.info("Press Step 1 pixel to sample the first pixel: its 256-way distribution "
                    "appears here.")

with field_tab:
    position = min(sampler.position, sampler.total - 1)
    row, col = divmod(position, sampler.width)
    st.markdown(f"Which earlier pixels can change the prediction for pixel **{position}** "
                f"(row {row}, column {col}), measured as |d logits / d input| on the current "
                "image. The masked PixelCNN's stacked masks miss a wedge above and to the right "
                "(its blind spot); the gated PixelCNN's two stacks cover every earlier pixel.")
    columns = st.columns(2)
    for column, other in zip(columns, (GATED, MASKED)):
        with column:
            pair = try_load_checkpoint(checkpoint_path(other)) if other in cards else None
            if pair is None:
                st.info(f"`{other}` is not available.")
                continue
            other_model = pair[0]
            influence = other_model.influence(sampler.image[0, 0], label, position).cpu().numpy()
            shown = np.log10(1e-6 + influence / max(influence.max(), 1e-12)) + 6
            st.plotly_chart(make_heatmap_figure(shown, "log10 influence + 6",
                                                title=pair[1]["model"], mark=(row, col),
                                                colorscale="Viridis"),
                            key=f"ar_field_{other}", config={"displayModeBar": False}, theme=None)
            earlier = influence.ravel()[:position]
            st.caption(f"{int((earlier > 0).sum())} of {position} earlier pixels influence it.")

with completion_tab:
    test = load_split("mnist", "test")
    if test is None:
        st.info("Completion of test digits needs MNIST; completing the image sampled on the "
                "first tab instead. " + data_missing_message())
        source = sampler.image[0, 0].cpu()
    else:
        index = st.number_input("Test image (index)", 0, len(test[0]) - 1, 0, key="ar_complete_index")
        source = test[0][int(index), 0]
    rows = st.slider("Rows kept from the top", 0, 27, 14, key="ar_complete_rows")
    if st.button("Complete it 4 times", key="ar_complete"):
        with st.spinner("Sampling the missing rows..."):
            prefix = source.reshape(1, 1, 28, 28).repeat(4, 1, 1, 1)
            outs = sampling.sample_images(model, 4, label, float(temperature), seed=int(seed),
                                          prefix=prefix, start=rows * 28)  # 4 draws, 1 pass
            st.session_state.ar_completions = (outs[:, 0].numpy(), rows)
    kept = source.numpy().copy()
    kept[rows:] = 0
    shown = [(kept, f"kept: top {rows} rows")]
    if st.session_state.get("ar_completions") is not None:
        completions, done_rows = st.session_state.ar_completions
        shown += [(image, f"completion {i + 1} (kept {done_rows} rows)")
                  for i, image in enumerate(completions)]
    for column, (picture, caption) in zip(st.columns(5), shown):
        column.image(imaging.png_bytes(picture, scale=5), caption=caption, output_format="PNG")

with likelihood_tab:
    rng = np.random.default_rng(0)
    inputs = {"noise": rng.integers(0, 256, (28, 28)).astype(np.uint8),
              "blank": np.zeros((28, 28), np.uint8)}
    if test is not None:
        digit = test[0][0, 0].numpy()
        inputs = {"test digit": digit, "shifted digit": np.roll(digit, (9, 9), (0, 1)), **inputs}
    if data.is_available("fashion_mnist"):
        inputs["Fashion-MNIST"] = data.load("fashion_mnist", "test").images[0, 0].numpy()
    else:
        st.caption("Fashion-MNIST is not on disk, so that comparison is skipped.")
    stack = torch.from_numpy(np.stack(list(inputs.values())))[:, None]
    bits = sampling.per_pixel_bits(model, stack, label)
    scores = dict(zip(inputs, bits.mean((1, 2))))
    st.caption("Noise and other non-digits cost many more bits per pixel than a digit, so the "
               "model can reject them. But a blank image costs almost nothing: likelihood also "
               "rewards simplicity, so a very likely input is not always a typical one "
               "(Nalisnick et al. 2019, 'Do deep generative models know what they don't know?')."
               if scores["blank"] < scores.get("test digit", np.inf) else
               "Inputs unlike the training digits cost more bits per pixel: the model can "
               "reject them.")
    for column, (title, picture), heat in zip(st.columns(len(inputs)), inputs.items(), bits):
        with column:
            st.image(imaging.png_bytes(picture, scale=4), caption=title, output_format="PNG")
            st.metric("bits/dim", f"{heat.mean():.2f}", help="-log2 p(x) / 784 under the model: "
                      "lower means more likely.")
            st.plotly_chart(make_heatmap_figure(heat, "-log2 p (bits)", zmax=12, height=230),
                            key=f"ar_heat_{title}", config={"displayModeBar": False}, theme=None)

with cost_tab:
    @st.cache_data(show_spinner="Timing one sampling step...")
    def step_seconds(model_key: str, _model) -> float:
        images = torch.zeros((1, 1, 28, 28), dtype=torch.uint8)
        stepper = _model.stepper(images, None, fast=True)
        started = time.perf_counter()
        with torch.no_grad():
            for k in range(56):
                stepper(k)
        return (time.perf_counter() - started) / 56

    per_step = step_seconds(card["cache_key"], model)
    side = st.select_slider("Image side (pixels)", [28, 64, 256, 512, 1024], 1024,
                            key="ar_cost_side")
    units = {"subpixels": 1 / 3, "pixels (RGB at once)": 1, "2x2 patches": 4,
             "4x4 patches": 16, "8x8 patches": 64, "16x16 patches": 256}
    unit = st.select_slider("One step generates", list(units), "subpixels", key="ar_cost_unit")
    steps = max(1, int(round(side * side / units[unit])))
    a, b, c = st.columns(3)
    a.metric("Subpixel steps", f"{side * side * 3:,}",
             help="An N x N RGB image has N*N*3 subpixels, each one sampling step.")
    b.metric("Sequential steps", f"{steps:,}", help="Network evaluations one after another.")
    c.metric("Time at the measured step cost", f"{steps * per_step / 60:,.1f} min",
             help=f"Measured here: {1000 * per_step:.1f} ms per step for this model (fast "
                  "path, batch 1). Bigger models on bigger images cost more per step.")
    st.caption("Generating tiles or patches trades fewer sequential steps for a harder "
               "per-step distribution, which is why modern models predict tokens of patches.")
    st.caption(f"Model card: trained {card.get('epochs')} epochs in {card.get('train_seconds')} s "
               f"on {card.get('hardware')}; test {card.get('test_bits_per_dim')} bits/dim.")

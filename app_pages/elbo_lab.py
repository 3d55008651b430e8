"""ELBO lab: train a VAE live and watch reconstruction and KL fight while you turn beta."""

import re
import time

import numpy as np
import streamlit as st

from app_pages.common import (
    KEEP,
    chart,
    data_missing_message,
    inline_image,
    lab_runs,
    lazy_tabs,
    live_interval,
    load_split,
)
from explorer import checkpoints, elbo_lab, imaging
from explorer.figures import make_bounds_figure, make_rate_distortion_figure
from explorer.run_store import RunStoreError

BETAS = [0.0, 0.01, 0.03, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0]
SIGMAS = [0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]
RATES = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 0.1, 1.0]
TABS = ["Live run", "ELBO vs IWAE", "Beta sweep"]

st.title("ELBO lab")
st.markdown("The ELBO bounds the log-likelihood from below:")
st.latex(r"\log p(x) \;\ge\; \underbrace{\mathbb{E}_{q(z\mid x)}[\log p(x\mid z)]}_{"
         r"\text{reconstruction}} \;-\; \beta\,\underbrace{\mathrm{KL}(q(z\mid x)\,\|\,p(z))}_{"
         r"\text{rate}}")
st.markdown(
    "The reconstruction term wants each posterior to be a sharp point; the KL term wants it "
    "to be N(0, I). Train a VAE here, turn β (1 is the ELBO) while it runs, and watch the two "
    "terms trade off. The run trains in its own process: close the tab, or open this page on "
    "another laptop, and it is still there.")
if load_split("mnist", "test") is None:
    st.error("The ELBO lab trains on MNIST, which is not available. " + data_missing_message())
    st.stop()
runs = lab_runs()


def start_form() -> None:
    """The settings of a new run."""
    a, b, c, d = st.columns(4)
    latent_dim = a.selectbox("Latent size", [2, 4, 8, 16, 32], index=3, key="lab_latent", **KEEP)
    architecture = b.selectbox("Architecture", ["mlp", "conv"], key="lab_architecture", **KEEP)
    likelihood = c.selectbox("Decoder", ["bernoulli", "gaussian"], key="lab_likelihood", **KEEP,
                             help="Bernoulli on binarized pixels, or Gaussian with sigma.")
    sigma = d.select_slider("Gaussian sigma", SIGMAS, 0.1, key="lab_sigma_start", **KEEP,
                            disabled=likelihood != "gaussian")
    a, b, c, d = st.columns(4)
    defaults = elbo_lab.LabSettings()
    batch = a.selectbox("Batch size", [32, 64, 128, 256, 512], index=2, key="lab_batch", **KEEP)
    rate = b.select_slider("Learning rate", RATES, defaults.learning_rate, key="lab_lr", **KEEP)
    seed = c.number_input("Seed", 0, 10**6, 0, key="lab_seed", **KEEP)
    vaes = {x["name"]: x["path"] for x in checkpoints.available()
            if x.get("model") == "VAE" and "error" not in x}
    warm = d.selectbox("Start from", ["scratch", *vaes], key="lab_warm", **KEEP)
    if st.button("Start training", type="primary", key="lab_start"):
        try:  # two browsers (or a double click) get one run
            runs.start(elbo_lab.LabSettings(
                latent_dim=latent_dim, architecture=architecture, likelihood=likelihood,
                sigma=sigma, batch_size=batch, learning_rate=rate, seed=int(seed),
                warm_start=vaes.get(warm)))
            st.rerun()
        except (RunStoreError, checkpoints.CheckpointError) as exc:
            st.error(str(exc))


def run_controls(status) -> None:
    """Pause/resume, stop, reset, save, the live knobs, and what to do after a failure."""
    buttons = st.columns(5)
    if status.state == "paused":
        buttons[0].button("Resume", key="lab_resume", on_click=runs.resume)
    else:
        buttons[0].button("Pause", key="lab_pause", on_click=runs.pause,
                          disabled=not status.active)
    buttons[1].button("Stop", key="lab_stop", on_click=runs.stop, disabled=not status.active)
    buttons[2].button("Reset", key="lab_reset", on_click=runs.remove,
                      help="Forget this run (stopping it) and start anew.")
    name = buttons[3].text_input("Save as", key="lab_save_name", placeholder="name to save as",
                                 label_visibility="collapsed")
    if buttons[4].button("Save checkpoint", key="lab_save"):
        save(name)
    if status.state in ("failed", "lost"):
        st.error(status.reason, icon=":material/error:")
        again = st.columns(2)
        if status.state == "failed":
            again[0].button("Continue with a 10x lower learning rate", key="lab_lower_lr",
                            on_click=runs.continue_run, kwargs={"rate_factor": 0.1})
        else:
            again[0].button("Continue from the last saved state", key="lab_continue",
                            on_click=runs.continue_run)
    if not status.active:
        return
    current = runs.knobs()  # any browser's latest request, so everyone sees the same knobs
    knobs = st.columns(3)
    st.session_state.lab_beta = min(BETAS, key=lambda b: abs(b - current.get("beta", 1.0)))
    knobs[0].select_slider("β (KL weight)", BETAS, key="lab_beta",
                           on_change=lambda: runs.set_knob("beta", st.session_state.lab_beta),
                           help="Objective: -(E log p(x|z) - β KL). β = 1 is the ELBO; β = 0 "
                                "is a plain autoencoder.")
    if "sigma" in current:
        st.session_state.lab_sigma = min(SIGMAS, key=lambda s: abs(s - current["sigma"]))
        knobs[1].select_slider("decoder σ", SIGMAS, key="lab_sigma",
                               on_change=lambda: runs.set_knob("sigma", st.session_state.lab_sigma),
                               help="log p(x|z) = -||x - mean||² / (2σ²) - D log σ + const: "
                                    "small σ weights reconstruction more. A density, not a "
                                    "probability: with small σ it exceeds 1, so the ELBO can "
                                    "be positive.")
    st.session_state.lab_free_bits = float(current.get("free_bits", 0.0))
    knobs[2].slider("free bits (nats per dimension)", 0.0, 2.0, step=0.05, key="lab_free_bits",
                    on_change=lambda: runs.set_knob("free_bits", st.session_state.lab_free_bits),
                    help="KL per dimension below this is not penalised (Kingma et al. 2016).")


def save(name: str) -> None:
    if not re.fullmatch(r"[a-z0-9_\-]{1,40}", name or ""):
        st.error("Use 1-40 lower-case letters, digits, - or _ for the name.")
        return
    try:
        path = checkpoints.user_save_path(name)
        with st.spinner("Measuring the test NLL and saving..."):
            result = runs.ask(elbo_lab.LAB_RUN, "save", {"path": str(path)})
    except (RunStoreError, checkpoints.CheckpointError) as exc:
        st.error(str(exc))
        return
    if "error" in result:
        st.error(result["error"])
    else:
        st.success(f"Saved `{name}` (test NLL {result['test_nll_nats']:.2f} nats on 500 images, "
                   "k = 100); open it on the Latent space explorer.")


def live_view() -> None:
    """What the run looks like now: curves, rate-distortion plane, KL per dimension."""
    started = time.perf_counter()
    drawn = runs.figures()
    status = runs.status()
    if drawn is None or status is None:
        st.info("Waiting for the training process's first snapshot...")
        return
    figures, info = drawn
    latest = {k: (v if v is not None else float("nan")) for k, v in info["latest"].items()}
    st.caption(f"**{status.state}**: step {status.step:,}, epoch {status.epoch:.2f}, "
               f"{status.seconds:.1f} s, {status.images_per_second:,.0f} images/s on "
               f"{status.device}. Latest batch: ELBO {latest['elbo']:.1f}, reconstruction "
               f"{latest['reconstruction']:.1f}, KL {latest['kl']:.1f} nats per image.")
    left, right = st.columns(2)
    with left:
        chart(figures["terms"], key="lab_curves_terms", filename="elbo_lab_loss_terms")
        chart(figures["rd"], key="lab_rd", filename="elbo_lab_rate_distortion")
        st.caption("Rate-distortion plane (Alemi et al. 2018): each point is a model; dotted "
                   "lines have equal ELBO = -(D + R). Green points are finished runs.")
    with right:
        chart(figures["elbo"], key="lab_curves_elbo", filename="elbo_lab_elbo")
        chart(figures["kl_bars"], key="lab_kl_bars", filename="elbo_lab_kl_per_dimension")
        d = info["snapshot"].diagnostics
        st.caption(f"KL per latent dimension on 256 test images: {int((d.kl_per_dim > 0.01).sum())} "
                   f"of {len(d.kl_per_dim)} carry information (grey ones collapsed to the prior).")
    a, b, c = st.columns(3)
    with a:
        chart(figures["std_hist"], key="lab_std_hist", filename="elbo_lab_posterior_std")
    pairs = np.concatenate([load_split("mnist", "test")[0][:8, 0].numpy() / 255.0,
                            d.reconstructions])
    with b:  # inline images: nothing for the browser to fetch later, so nothing can expire
        inline_image(imaging.png_bytes(imaging.grid(pairs, 8), scale=3),
                     "Top: fixed test images. Bottom: their current reconstructions.")
    with c:
        inline_image(imaging.png_bytes(imaging.grid(d.samples, 4), scale=3),
                     "Prior samples (the same noise every refresh).")
    live_interval.record(time.perf_counter() - started)
    interval, since = st.session_state.get("lab_interval", (1.0, 0.0))
    desired = live_interval.seconds()
    if max(desired / interval, interval / desired) > 1.5 and time.monotonic() - since > 10:
        st.rerun(scope="app")  # re-register this view's timer at the new interval


@st.fragment
def live_tab() -> None:
    status = runs.status()
    if status is None:
        st.subheader("Start a run")
        start_form()
        return
    run_controls(status)
    interval = live_interval.seconds()
    st.session_state.lab_interval = (interval, time.monotonic())
    st.fragment(live_view, run_every=interval if status.active else None)()


@st.fragment
def bounds_tab() -> None:
    """ELBO vs the importance-weighted bounds L_k of the run's current model."""
    status = runs.status()
    if st.button("Compute L_k for k = 1, 10, 100, 1000 on 100 test images",
                 key="lab_bounds_button", disabled=status is None):
        with st.spinner("Sampling..."):
            try:
                result = runs.ask(elbo_lab.LAB_RUN, "bounds", {})
                st.session_state.lab_bound_values = {int(k): v for k, v in result.items()}
            except (RunStoreError, checkpoints.CheckpointError) as exc:
                st.error(str(exc))
    if st.session_state.get("lab_bound_values"):
        chart(make_bounds_figure(st.session_state.lab_bound_values), key="lab_bounds_chart",
              filename="elbo_vs_iwae_bounds")
        st.caption("L_1 is the ELBO; L_k = log mean of k importance weights rises with k "
                   "towards log p(x) (Burda et al. 2015): the gap is the price of an imperfect "
                   "q(z|x).")


@st.fragment
def sweep_tab() -> None:
    """Short runs at several betas, each ending as a point on the rate-distortion plane."""
    betas = st.multiselect("Betas", [b for b in BETAS if b > 0], [0.25, 1.0, 3.0],
                           key="lab_sweep_betas", **KEEP)
    steps = st.slider("Steps per run", 100, 2000, 300, 100, key="lab_sweep_steps", **KEEP)
    if st.button("Run the sweep in the background", key="lab_sweep"):
        try:
            runs.start_sweep(betas, steps)
            st.success("Sweep started: its points appear on the rate-distortion plane.")
        except RunStoreError as exc:
            st.error(str(exc))
    if points := runs.points():
        chart(make_rate_distortion_figure([], points), key="lab_rd_points",
              filename="rate_distortion_finished_runs")
        st.button("Clear finished runs", key="lab_clear_points", on_click=runs.store.clear_points)


tabs = lazy_tabs(TABS, key="lab_tab")
for tab, view in zip(tabs, (live_tab, bounds_tab, sweep_tab)):
    with tab:
        if tab.open:
            view()

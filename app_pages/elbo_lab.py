"""ELBO lab: train a VAE live and watch reconstruction and KL fight while you turn beta."""

import re

import numpy as np
import streamlit as st

from app_pages.common import checkpoint_path, data_missing_message, load_split
from explorer import checkpoints, elbo_lab, imaging
from explorer.device import device_name
from explorer.figures import (
    make_bounds_figure,
    make_curves_figure,
    make_histogram_figure,
    make_kl_bars_figure,
    make_rate_distortion_figure,
)
from explorer.training import REGISTRY, TrainingBusy

BETAS = [0.0, 0.01, 0.03, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0]
SIGMAS = [0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]
RATES = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 0.1, 1.0]

st.title("ELBO lab")
st.markdown(
    "The ELBO is E_q[log p(x|z)] - KL(q(z|x) || p(z)). The reconstruction term wants each "
    "posterior to be a sharp point; the KL term wants it to be N(0, I). Train a VAE here, "
    "turn beta (the weight on KL) while it runs, and watch the two terms trade off. The run "
    "lives on the server: close the tab, or open this page on another laptop, and it is "
    "still there.")

train, test = load_split("mnist", "train"), load_split("mnist", "test")
if train is None or test is None:
    st.error("The ELBO lab trains on MNIST, which is not available. " + data_missing_message())
    st.stop()
probe = test[0][:256]
trainer = REGISTRY.get(elbo_lab.LAB_RUN)

# ---- starting a run -----------------------------------------------------------------
if trainer is None:
    st.subheader("Start a run")
    a, b, c, d = st.columns(4)
    latent_dim = a.selectbox("Latent size", [2, 4, 8, 16, 32], index=3, key="lab_latent")
    architecture = b.selectbox("Architecture", ["mlp", "conv"], key="lab_architecture")
    likelihood = c.selectbox("Decoder", ["bernoulli", "gaussian"], key="lab_likelihood",
                             help="Bernoulli on binarized pixels, or Gaussian with sigma.")
    sigma = d.select_slider("Gaussian sigma", SIGMAS, 0.1, key="lab_sigma_start",
                            disabled=likelihood != "gaussian")
    a, b, c, d = st.columns(4)
    defaults = elbo_lab.LabSettings()
    sizes = [32, 64, 128, 256, 512]
    batch = a.selectbox("Batch size", sizes, index=sizes.index(defaults.batch_size),
                        key="lab_batch")
    rate = b.select_slider("Learning rate", RATES, defaults.learning_rate, key="lab_lr")
    seed = c.number_input("Seed", 0, 10**6, 0, key="lab_seed")
    vaes = [x["name"] for x in checkpoints.available() if x.get("model") == "VAE"
            and "error" not in x]
    warm = d.selectbox("Start from", ["scratch"] + vaes, key="lab_warm")
    if st.button("Start training", type="primary", key="lab_start"):
        settings = elbo_lab.LabSettings(
            latent_dim=latent_dim, architecture=architecture, likelihood=likelihood,
            sigma=sigma, batch_size=batch, learning_rate=rate, seed=int(seed),
            warm_start=None if warm == "scratch" else checkpoint_path(warm))
        try:
            REGISTRY.start(elbo_lab.LAB_RUN,
                           lambda: elbo_lab.make_trainer(settings, train[0], train[1]))
            st.rerun()
        except (TrainingBusy, checkpoints.CheckpointError) as exc:
            st.error(str(exc))
else:
    controls = st.columns(5)
    if trainer.state == "paused":
        controls[0].button("Resume", key="lab_resume", on_click=trainer.resume)
    else:
        controls[0].button("Pause", key="lab_pause", on_click=trainer.pause,
                           disabled=not trainer.active)
    controls[1].button("Stop", key="lab_stop", on_click=trainer.stop, disabled=not trainer.active)
    if controls[2].button("Reset", key="lab_reset", help="Forget this run and start anew."):
        REGISTRY.remove(elbo_lab.LAB_RUN)
        st.rerun()
    save_name = controls[3].text_input("Save as", "my_vae", key="lab_save_name",
                                       label_visibility="collapsed")
    if controls[4].button("Save checkpoint", key="lab_save"):
        if not re.fullmatch(r"[a-z0-9_\-]{1,40}", save_name):
            st.error("Use 1-40 lower-case letters, digits, - or _ for the name.")
        else:
            model = trainer.eval_copy()
            nll = float(-model.estimate_log_likelihood(
                model.prepare(test[0][:500], train=False), samples=100).mean())
            trainer.save(checkpoint_path(save_name), extra={
                "test_nll_nats": round(nll, 3), "eval_samples": 100, "test_images": 500})
            st.success(f"Saved `{save_name}` (test NLL {nll:.2f} nats on 500 images, k=100); "
                       "open it on the Latent space explorer.")
    if trainer.state == "failed":
        st.error(trainer.reason)
        if st.button("Continue with a 10x lower learning rate", key="lab_lower_lr"):
            model, rate = trainer.model, trainer.hyper["learning_rate"] / 10
            REGISTRY.remove(elbo_lab.LAB_RUN)
            settings = elbo_lab.LabSettings(learning_rate=rate, batch_size=trainer.config.batch_size,
                                            sigma=trainer.hyper.get("sigma", 0.1))
            REGISTRY.start(elbo_lab.LAB_RUN, lambda: elbo_lab.make_trainer(
                settings, train[0], train[1], model=model))
            st.rerun()

    # ---- live knobs: the change applies at the next step and is marked on the curves
    def send(knob: str, key: str) -> None:
        try:
            trainer.set_hyper(knob, st.session_state[key])
        except (KeyError, ValueError) as exc:
            st.session_state.lab_knob_error = str(exc)

    knobs = st.columns(3)
    current = trainer.current_hyper()  # includes changes not yet applied, from any browser
    st.session_state.lab_beta = min(BETAS, key=lambda b: abs(b - current["beta"]))
    knobs[0].select_slider("beta (KL weight)", BETAS, key="lab_beta", on_change=send,
                           args=("beta", "lab_beta"), help="Objective: -(E log p(x|z) - "
                           "beta KL). beta = 1 is the ELBO; 0 is a plain autoencoder.")
    if trainer.model.config.likelihood == "gaussian":
        st.session_state.lab_sigma = min(SIGMAS, key=lambda s: abs(s - current["sigma"]))
        knobs[1].select_slider("decoder sigma", SIGMAS, key="lab_sigma", on_change=send,
                               args=("sigma", "lab_sigma"),
                               help="Gaussian decoder std: log p(x|z) = -||x - mean||^2 / "
                                    "(2 sigma^2) + const, so small sigma weights "
                                    "reconstruction more.")
    st.session_state.lab_free_bits = float(current["free_bits"])
    knobs[2].slider("free bits (nats per dimension)", 0.0, 2.0, step=0.05, key="lab_free_bits",
                    on_change=send, args=("free_bits", "lab_free_bits"),
                    help="KL per dimension below this is not penalised (Kingma et al. 2016).")
    if st.session_state.get("lab_knob_error"):
        st.error(st.session_state.pop("lab_knob_error"))

    @st.fragment(run_every=1.0)
    def live_views() -> None:
        run = REGISTRY.get(elbo_lab.LAB_RUN)
        if run is None:
            return
        snapshot = elbo_lab.LIVE_SNAPSHOTS.get(run, probe)
        smoothed, markers = snapshot.smoothed, snapshot.markers
        diagnostics = snapshot.diagnostics
        latest = run.log.latest() or {}
        speed = run.step * run.config.batch_size / max(run.train_seconds, 1e-9)
        st.caption(f"**{run.state}**: step {run.step}, epoch {run.epoch:.2f}, "
                   f"{run.train_seconds:.1f} s, {speed:.0f} images/s on "
                   f"{device_name(run.device, run.config.threads)}. "
                   "Latest batch: ELBO "
                   f"{latest.get('elbo', float('nan')):.1f}, reconstruction "
                   f"{latest.get('reconstruction', float('nan')):.1f}, KL "
                   f"{latest.get('kl', float('nan')):.1f} nats per image.")
        finished = elbo_lab.RATE_DISTORTION.all()
        figures = snapshot.drawn.get(len(finished))  # built once per snapshot for all browsers
        if figures is None:
            active = diagnostics.kl_per_dim > 0.01
            figures = snapshot.drawn[len(finished)] = {
                "terms": make_curves_figure(smoothed, ["reconstruction", "kl"], markers,
                                            title="Reconstruction NLL (left) and KL (right)",
                                            y_title="-E log p(x|z), nats per image",
                                            secondary=["kl"],
                                            secondary_title="KL(q || p), nats per image"),
                "elbo": make_curves_figure(smoothed, ["elbo"], markers,
                                           title="ELBO, nats per image (higher is better)"),
                "rd": make_rate_distortion_figure(snapshot.rate_distortion_trail(), finished,
                                                  snapshot.knob_marks()),
                "kl_bars": make_kl_bars_figure(diagnostics.kl_per_dim, active,
                                               np.argsort(-diagnostics.kl_per_dim)),
                "std_hist": make_histogram_figure(diagnostics.posterior_std,
                                                  "posterior std sigma of q(z|x)")}
        chart = {"config": {"displayModeBar": False}, "theme": None}
        left, right = st.columns(2)
        left.plotly_chart(figures["terms"], key="lab_curves_terms", **chart)
        right.plotly_chart(figures["elbo"], key="lab_curves_elbo", **chart)
        left, right = st.columns(2)
        left.plotly_chart(figures["rd"], key="lab_rd", **chart)
        right.caption("Rate-distortion plane (Alemi et al. 2018): each point is a model; "
                      "dotted lines have equal ELBO = -(D + R). Green points are finished runs.")
        right.plotly_chart(figures["kl_bars"], key="lab_kl_bars", **chart)
        active_count = int((diagnostics.kl_per_dim > 0.01).sum())
        right.caption(f"KL per latent dimension on 256 test images: {active_count} of "
                      f"{len(diagnostics.kl_per_dim)} carry information (grey ones collapsed "
                      "to the prior).")
        a, b, c = st.columns(3)
        a.plotly_chart(figures["std_hist"], key="lab_std_hist", **chart)
        pairs = np.concatenate([probe[:8, 0].numpy() / 255.0, diagnostics.reconstructions])
        b.image(imaging.png_bytes(imaging.grid(pairs, 8), scale=3), output_format="PNG",
                caption="Top: fixed test images. Bottom: their current reconstructions.")
        c.image(imaging.png_bytes(imaging.grid(diagnostics.samples, 4), scale=3),
                output_format="PNG", caption="Prior samples (the same noise every refresh).")
        if run.state in ("stopped", "finished") and not getattr(run, "rd_recorded", False):
            run.rd_recorded = True
            elbo_lab.RATE_DISTORTION.add(elbo_lab.RatePoint(
                diagnostics.rate, diagnostics.distortion, run.hyper["beta"],
                f"run at beta={run.hyper['beta']:g}"))

    live_views()

# ---- bounds and sweeps ---------------------------------------------------------------
st.subheader("ELBO vs importance-weighted bounds")
if st.button("Compute L_k for k = 1, 10, 100, 1000 on 100 test images", key="lab_bounds_button",
             disabled=trainer is None):
    with st.spinner("Sampling..."):
        st.session_state.lab_bound_values = elbo_lab.bounds(trainer.eval_copy(), probe[:100])
if st.session_state.get("lab_bound_values"):
    st.plotly_chart(make_bounds_figure(st.session_state.lab_bound_values), key="lab_bounds_chart",
                    config={"displayModeBar": False}, theme=None)
    st.caption("L_1 is the ELBO; L_k = log mean of k importance weights rises with k towards "
               "log p(x) (Burda et al. 2015): the gap is the price of an imperfect q(z|x).")

st.subheader("Beta sweep")
betas = st.multiselect("Betas", [b for b in BETAS if b > 0], [0.25, 1.0, 3.0],
                       key="lab_sweep_betas")
steps = st.slider("Steps per run", 100, 2000, 300, 100, key="lab_sweep_steps")
if st.button("Run the sweep in the background", key="lab_sweep"):
    try:
        elbo_lab.start_sweep(REGISTRY, betas, elbo_lab.LabSettings(), train[0], train[1], probe,
                             steps)
        st.success("Sweep started: its points appear on the rate-distortion plane.")
    except TrainingBusy as exc:
        st.error(str(exc))
points = elbo_lab.RATE_DISTORTION.all()
if points and trainer is None:
    st.plotly_chart(make_rate_distortion_figure([], points), key="lab_rd_points",
                    config={"displayModeBar": False}, theme=None)

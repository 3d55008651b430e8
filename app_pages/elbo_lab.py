"""ELBO lab: train a VAE live and watch reconstruction and KL fight while you turn beta."""

import time

import numpy as np
import streamlit as st

from app_pages import lab_controls, lab_views, links
from app_pages.common import (
    chart,
    data_missing_message,
    download_button,
    inline_image,
    intro,
    keep,
    lab_runs,
    lazy_tabs,
    level_row,
    live_interval,
    load_split,
    projector,
)
from explorer import elbo_lab, imaging
from explorer.figures import UNTITLED_TOP_PX, finished_points_key, make_rate_distortion_figure
from explorer.run_store import RunStoreError

TABS = ["Live run", "ELBO vs IWAE", "Beta sweep", "Reparameterization"]

st.title("ELBO lab")
intro("The ELBO bounds the log-likelihood from below; the lab trains on it with the KL "
      "term weighted by β, which is a bound only for β ≥ 1 (β = 1 is the ELBO):",
      r"\log p(x) \;\ge\; \underbrace{\mathbb{E}_{q(z\mid x)}[\log p(x\mid z)]}_{"
      r"\text{reconstruction}} \;-\; \beta\,\underbrace{\mathrm{KL}(q(z\mid x)\,\|\,p(z))}_{"
      r"\text{rate}} \qquad (\beta \ge 1)",
      "The reconstruction term wants each posterior to be a sharp point; the KL term wants it "
      r"to be ${\mathcal{N}(0, I)}.$ Train a VAE here, turn β (1 is the ELBO) while it runs, and "
      "watch the two terms trade off. The run trains in its own process: close the tab, or "
      "open this page on another laptop, and it is still there.")
if load_split("mnist", "test") is None:
    st.error("The ELBO lab trains on MNIST, which is not available. " + data_missing_message())
    download_button("mnist")
    st.stop()
runs = lab_runs()


def live_view() -> None:
    """What the run looks like now: curves, rate-distortion plane, KL per dimension."""
    started = time.thread_time()  # CPU time: under load, wall time counts the waits too
    status = runs.status()
    drawn = runs.figures(status=status)
    if lab_controls.controls_stale(runs, status):  # another browser steered or reset the run,
        st.rerun(scope="app")  # or it ended: this page's controls are redrawn
    if drawn is None or status is None:
        st.info("Waiting for the training process's first snapshot...")
        return
    figures, info = drawn
    latest = {k: (v if v is not None else float("nan")) for k, v in info["latest"].items()}
    # rows of charts that stand level whatever the captions under them say; on a projector
    # the plane beside the loss terms, and the run's state after them: both on its first
    # screen
    told = None if projector() else st.container()
    names = {"terms": ("lab_curves_terms", "elbo_lab_loss_terms"),
             "elbo": ("lab_curves_elbo", "elbo_lab_elbo"),
             "rd": ("lab_rd", "elbo_lab_rate_distortion"),
             "kl_bars": ("lab_kl_bars", "elbo_lab_kl_per_dimension")}
    d = info["snapshot"].diagnostics
    captions = {"rd": elbo_lab.RATE_DISTORTION_CAPTION + " " + finished_points_key(info["finished"]),
                "kl_bars": elbo_lab.kl_summary(d.kl_per_dim),
                "terms": elbo_lab.knob_changes_text(info["snapshot"].markers)}
    for row in (("terms", "rd"), ("elbo", "kl_bars")) if projector() else (("terms", "elbo"),
                                                                           ("rd", "kl_bars")):
        columns = level_row([(figures[k], *names[k]) for k in row])
        for column, k in zip(columns, row):
            if captions.get(k):
                column.caption(captions[k])
        told = told or st.container()
    told.caption(f"**{status.state}**: step {status.step:,}, epoch {status.epoch:.2f}, "
                 f"{status.seconds:.1f} s, {status.images_per_second:,.0f} images/s on "
                 f"{status.device}. " + elbo_lab.now_text(
                     latest, info["snapshot"], int(status.settings.get("batch_size", 128)),
                     live=status.active))
    if status.settings.get("likelihood") == "gaussian":
        told.caption(elbo_lab.GAUSSIAN_NOTE)
    a, b, c = st.columns(3)
    with a:
        chart(figures["std_hist"], key="lab_std_hist", filename="elbo_lab_posterior_std")
        st.download_button("Curves as CSV", key="lab_csv", mime="text/csv",
                           file_name=f"elbo_lab_curves_step{status.step}.csv",
                           data=lambda: elbo_lab.curves_csv(info["snapshot"]), on_click="ignore",
                           icon=":material/download:")
    pairs = np.concatenate([load_split("mnist", "test")[0][:8, 0].numpy() / 255.0,
                            d.reconstructions])
    with b:  # inline images: nothing for the browser to fetch later, so nothing can expire
        inline_image(imaging.png_bytes(imaging.grid(pairs, 8), scale=3),  # level with the
                     "Top: fixed test images. Bottom: their current reconstructions.",  # plot
                     top=UNTITLED_TOP_PX)
    with c:
        inline_image(imaging.png_bytes(imaging.grid(d.samples, 4), scale=3),
                     "Prior samples (the same noise every refresh).", top=UNTITLED_TOP_PX)
    live_interval.record(time.thread_time() - started)
    interval, since = st.session_state.get("lab_interval", (1.0, 0.0))
    desired = live_interval.seconds()
    if max(desired / interval, interval / desired) > 1.5 and time.monotonic() - since > 10:
        st.rerun(scope="app")  # re-register this view's timer at the new interval


@st.fragment
def live_tab() -> None:
    status = runs.status()
    if status is None:
        st.session_state.pop(lab_controls.SHOWN, None)
        st.subheader("Start a run")
        lab_controls.start_form(runs)
        return
    lab_controls.run_controls(runs, status)
    interval = live_interval.seconds()
    st.session_state.lab_interval = (interval, time.monotonic())
    st.fragment(live_view, run_every=interval if status.active else None)()


@st.fragment
def sweep_tab() -> None:
    """Short runs at several betas, each ending as a point on the rate-distortion plane."""
    betas = st.multiselect("Betas", [b for b in lab_controls.BETAS if b > 0], [0.25, 1.0, 3.0],
                           key="lab_sweep_betas", **keep())
    steps = st.slider("Steps per run", 100, 2000, 300, 100, key="lab_sweep_steps", **keep())
    st.caption(elbo_lab.sweep_description(elbo_lab.LabSettings(), steps))
    live = runs.status()
    busy = live is not None and live.active and runs.max_active <= 1
    if busy:  # said before the press, not as the store's refusal after it
        st.info("This server trains one run at a time: stop the live run (Live run tab) to "
                "run a sweep.")
    if st.button("Run the sweep in the background", key="lab_sweep", disabled=busy):
        try:
            runs.start_sweep(betas, steps)
            st.success("Sweep started: its points appear on the rate-distortion plane below "
                       "as each run finishes.")
        except RunStoreError as exc:
            st.error(str(exc))
    sweep = runs.status(elbo_lab.SWEEP_RUN)
    active = sweep is not None and sweep.active
    st.session_state.lab_sweep_watched = active
    st.fragment(sweep_points, run_every=live_interval.seconds() if active else None)()


def sweep_points() -> None:
    """The finished runs' points, refreshed while a sweep runs (as the live view is)."""
    sweep = runs.status(elbo_lab.SWEEP_RUN)
    if sweep is not None and sweep.active:
        st.caption(f"Sweep {sweep.state}: {sweep.step} of "
                   f"{len(sweep.settings.get('betas', []))} betas done.")
    elif st.session_state.get("lab_sweep_watched"):  # it just ended: drop the timer
        st.session_state.lab_sweep_watched = False
        st.rerun(scope="app")
    if points := runs.points():
        chart(make_rate_distortion_figure([], points), key="lab_rd_points",
              filename="rate_distortion_finished_runs")
        st.caption(finished_points_key(points))
        st.button("Clear finished runs", key="lab_clear_points", on_click=runs.store.clear_points)


def bounds_view() -> None:
    lab_views.bounds_tab(runs)  # a fragment in lab_views, given this page's runs


tabs = lazy_tabs(TABS, key="lab_tab")
for tab, view in zip(tabs, (live_tab, bounds_view, sweep_tab, lab_views.reparameterization_tab)):
    with tab:
        if tab.open:
            view()
links.check(["lab_latent", "lab_architecture", "lab_likelihood", "lab_sigma_start", "lab_batch",
             "lab_lr", "lab_seed", "lab_warm", "lab_tab", "lab_sweep_steps"])

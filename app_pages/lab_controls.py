"""The ELBO lab's controls: the settings of a new run, and the buttons and live knobs of a
running one (widgets only; the runs themselves are explorer.lab_runs.LabRuns)."""

import streamlit as st

from app_pages.common import checkpoint_cards, following, keep, projector
from explorer import checkpoints, elbo_lab
from explorer.lab_runs import LabRuns
from explorer.run_store import RunStatus, RunStoreError

BETAS = [0.0, 0.01, 0.03, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0]
SIGMAS = [0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]
RATES = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 0.1, 1.0]
SHOWN = "_lab_controls_shown"  # controls_signature of what this page's controls show


def start_form(runs: LabRuns) -> None:
    """The settings of a new run."""
    a, b, c, d = st.columns(4)
    latent_dim = a.selectbox("Latent size", [2, 4, 8, 16, 32], index=3, key="lab_latent", **keep())
    architecture = b.selectbox("Architecture", ["mlp", "conv"], key="lab_architecture", **keep())
    likelihood = c.selectbox("Decoder", ["bernoulli", "gaussian"], key="lab_likelihood", **keep(),
                             help="Bernoulli on binarized pixels, or Gaussian with σ (whose "
                                  "ELBO can be positive: a density, not a probability).")
    sigma = d.select_slider("decoder σ", SIGMAS, 0.1, key="lab_sigma_start",
                            **keep(disabled=likelihood != "gaussian"))
    if likelihood == "gaussian":  # said before the run's first positive ELBO surprises
        st.caption(elbo_lab.GAUSSIAN_NOTE)
    a, b, c, d = st.columns(4)
    defaults = elbo_lab.LabSettings()
    batch = a.selectbox("Batch size", [32, 64, 128, 256, 512], index=2, key="lab_batch", **keep())
    rate = b.select_slider("Learning rate", RATES, defaults.learning_rate, key="lab_lr", **keep())
    seed = c.number_input("Seed", 0, 10**6, 0, key="lab_seed", **keep())
    vaes = {x["name"]: x["path"] for x in checkpoint_cards()
            if x.get("model") == "VAE" and "error" not in x}
    warm = d.selectbox("Start from", ["scratch", *vaes], key="lab_warm", **keep())
    if st.button("Start training", type="primary", key="lab_start"):
        try:  # two browsers (or a double click) get one run
            runs.start(elbo_lab.LabSettings(
                latent_dim=latent_dim, architecture=architecture, likelihood=likelihood,
                sigma=sigma, batch_size=batch, learning_rate=rate, seed=int(seed),
                warm_start=vaes.get(warm)))
            st.rerun()
        except (RunStoreError, checkpoints.CheckpointError) as exc:
            st.error(str(exc))


def controls_signature(runs: LabRuns, status: RunStatus) -> tuple:
    """What the run's controls show: its state, a stop waiting for the worker, and the knobs
    in force. When another browser changes any of these, this one's controls are stale."""
    stopping = status.active and runs.stopping(status=status)
    knobs = tuple(sorted(runs.knobs().items())) if status.active and not stopping else ()
    return status.state, stopping, knobs


def controls_stale(runs: LabRuns, status: RunStatus | None) -> bool:
    """True when the controls on this page no longer show the run (another browser turned a
    knob, paused or stopped it, or the run ended): the live view then redraws the page."""
    shown = st.session_state.get(SHOWN)
    return shown is not None and (status is None or controls_signature(runs, status) != shown)


def run_controls(runs: LabRuns, status: RunStatus) -> None:
    """Pause/resume, stop, reset, save, the live knobs, and what to do after a failure."""
    st.session_state[SHOWN] = controls_signature(runs, status)
    stopping = status.active and runs.stopping(status=status)
    if stopping:  # until the worker takes the stop, nothing else it is asked does anything
        st.caption("Stopping: the run ends after its current step.")
    gaussian = status.settings.get("likelihood") == "gaussian"
    if projector():  # buttons and knobs in one row (saving behind a popover): the charts
        # start high enough for the rate-distortion plane to stand on the first screen
        row = st.columns([1, 0.9, 1, 1.2] + [2.4] * (3 if gaussian else 2),
                         vertical_alignment="bottom")
        buttons, knobs = row[:4], (row[4], row[5], row[6]) if gaussian else (row[4], None, row[5])
    else:
        buttons, knobs = st.columns(5), None  # the knobs in a row of their own, below
    if following():  # the lecturer's run: followers watch it, they do not steer it
        st.caption("Following the presenter: the run's controls are theirs.")
        return
    if status.state == "paused":
        buttons[0].button("Resume", key="lab_resume", on_click=runs.resume)
    elif not status.active:  # ended: one click to a new run's settings (as Reset, named so)
        buttons[0].button("New run", key="lab_new", type="primary", on_click=runs.remove,
                          icon=":material/add:", help="Choose the settings of a new run. This "
                          "one's point stays on the rate–distortion plane.")
    else:
        buttons[0].button("Pause", key="lab_pause", on_click=runs.pause,
                          disabled=not status.active or stopping)
    buttons[1].button("Stop", key="lab_stop", on_click=runs.stop,
                      disabled=not status.active or stopping)
    buttons[2].button("Reset", key="lab_reset", on_click=runs.remove,
                      help="Forget this run (stopping it) and start anew.")
    saving = [buttons[3].popover("Save", icon=":material/save:")] * 2 if knobs \
        else buttons[3:5]
    name = saving[0].text_input("Save as", key="lab_save_name", placeholder="name to save as",
                                label_visibility="collapsed")
    if saving[1].button("Save checkpoint", key="lab_save"):
        save(runs, name)
    if status.state in ("failed", "lost"):
        st.error(status.reason, icon=":material/error:")
        again = st.columns(2)
        if status.state == "failed":
            again[0].button("Continue with a 10x lower learning rate", key="lab_lower_lr",
                            on_click=runs.continue_run, kwargs={"rate_factor": 0.1})
        else:
            again[0].button("Continue from the last saved state", key="lab_continue",
                            on_click=runs.continue_run)
    if not status.active or stopping:
        return
    current = runs.knobs()  # any browser's latest request, so everyone sees the same knobs
    knobs = knobs or st.columns(3)
    st.session_state.lab_beta = min(BETAS, key=lambda b: abs(b - current.get("beta", 1.0)))
    knobs[0].select_slider("β (KL weight)", BETAS, key="lab_beta",
                           on_change=lambda: runs.set_knob("beta", st.session_state.lab_beta),
                           help="Objective: −(E log p(x|z) − β KL). β = 1 is the ELBO; β = 0 "
                                "is a plain autoencoder.")
    if gaussian:  # from the start, before the
        # worker's first report lists its knobs
        sigma = float(current.get("sigma", status.settings.get("sigma", 0.1)))
        st.session_state.lab_sigma = min(SIGMAS, key=lambda s: abs(s - sigma))
        knobs[1].select_slider("decoder σ", SIGMAS, key="lab_sigma",
                               on_change=lambda: runs.set_knob("sigma", st.session_state.lab_sigma),
                               help="log p(x|z) = −‖x − mean‖² / (2σ²) − D log σ + const: "
                                    "small σ weights reconstruction more. A density, not a "
                                    "probability: with small σ it exceeds 1, so the ELBO can "
                                    "be positive.")
    st.session_state.lab_free_bits = float(current.get("free_bits", 0.0))
    knobs[2].slider("free bits (nats per dimension)", 0.0, 2.0, step=0.05, key="lab_free_bits",
                    on_change=lambda: runs.set_knob("free_bits", st.session_state.lab_free_bits),
                    help="KL per dimension below this is not penalised (Kingma et al. 2016).")


def save(runs: LabRuns, name: str) -> None:
    try:
        path = checkpoints.saved_path(name)
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

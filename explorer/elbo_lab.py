"""The ELBO lab's library side: building a live VAE run, diagnostics of the current model
(KL per dimension, posterior spreads, reconstructions, prior samples), ELBO vs IWAE bounds,
rate-distortion points of finished runs, a beta sweep, the live snapshot a browser draws
(with its figures), and LabRuns: the server's handle on runs that train in their own
process (explorer/lab_worker.py) through the shared RunStore. No UI code."""

from __future__ import annotations

import copy
import io
import json
import threading
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer import checkpoints, objectives
from explorer.device import background_training_threads, model_device
from explorer.models.vae import VAE, VAEConfig, init_output_bias
from explorer.run_store import RatePoint
from explorer.training import TrainConfig, Trainer
from explorer.typeset import signed, value_path

LAB_RUN = "elbo_lab"
SWEEP_RUN = "beta_sweep"
PROBE_IMAGES = 256  # fixed test images the live diagnostics and finished points are measured on
SMOOTHING = 25  # logged steps in the curves' trailing moving average


@dataclass
class LabSettings:
    latent_dim: int = 16
    architecture: str = "mlp"
    likelihood: str = "bernoulli"
    sigma: float = 0.1
    hidden: int = 512  # the shipped VAEs' width, so scratch and warm-started runs match
    batch_size: int = 128  # with lr 1e-3: among the quickest to -100 nats of 11 tried (CPU)
    learning_rate: float = 1e-3
    seed: int = 0
    epochs: float = 200.0  # minutes of watching on a CPU; stop it any time
    warm_start: str | None = None  # checkpoint path to start from, or None for scratch
    device: str = "auto"
    threads: int | None = None  # CPU threads; None: every core but one (the UI keeps one)
    train_limit: int | None = None  # train on the first N images only (tests, quick demos)
    resume_state: str | None = None  # a run's state file: continue it exactly (after a crash)
    start_weights: str | None = None  # a run's state file: start from its weights, new run
    beta: float = 1.0  # starting knob values
    free_bits: float = 0.0
    steps: int | None = None  # stop after this many steps (a sweep's short runs)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "LabSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def build_model(settings: LabSettings, images: torch.Tensor | None = None) -> VAE:
    """A fresh VAE (its output bias set from `images` when given), a copy of a checkpoint's
    weights when warm-starting, or a run state's weights (start_weights / resume_state)."""
    for state_path in (settings.resume_state, settings.start_weights):
        if state_path:
            state = checkpoints.load_state(state_path)
            model = VAE(VAEConfig(**state["model_config"]))
            model.load_state_dict(state["weights"])
            return model.train()
    if settings.warm_start:
        model, _ = checkpoints.load(settings.warm_start, device="cpu")
        if not isinstance(model, VAE):
            raise checkpoints.CheckpointError("Warm start needs a VAE checkpoint.")
        return copy.deepcopy(model).train()
    torch.manual_seed(settings.seed)
    model = VAE(VAEConfig(latent_dim=settings.latent_dim, architecture=settings.architecture,
                          hidden=settings.hidden, likelihood=settings.likelihood,
                          sigma=settings.sigma))
    if images is not None and len(images):
        init_output_bias(model, images)
    return model


def make_trainer(settings: LabSettings, images: torch.Tensor, labels: torch.Tensor,
                 model: VAE | None = None, state_path: str | None = None,
                 checkpoint_every_s: float = 10.0) -> Trainer:
    """The lab's Trainer; with resume_state set it continues that run exactly."""
    model = model or build_model(settings, images)
    config = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size,
                         learning_rate=settings.learning_rate, seed=settings.seed,
                         device=settings.device, snapshot_every=20, max_log_points=1500,
                         threads=settings.threads or background_training_threads(),
                         max_steps=settings.steps, state_path=state_path,
                         checkpoint_every_s=checkpoint_every_s)
    hyper = {"beta": settings.beta, "free_bits": settings.free_bits}
    if model.config.likelihood == "gaussian":
        hyper["sigma"] = settings.sigma
    trainer = Trainer(LAB_RUN, model, images, labels, config, hyper=hyper,
                      card={"dataset": "mnist", "command": "ELBO lab (streamlit page)"})
    if settings.resume_state:
        trainer.load_training_state(checkpoints.load_state(settings.resume_state))
    return trainer


def smooth_records(records: list[dict], keys: tuple[str, ...], window: int = SMOOTHING
                   ) -> list[dict]:
    """Trailing moving average of the logged terms (window in records), vectorised."""
    if not records:
        return []
    steps = np.array([r["step"] for r in records])
    out: dict[str, np.ndarray] = {}
    for key in keys:
        values = np.array([r.get(key, np.nan) for r in records], dtype=np.float64)
        sums = np.cumsum(np.insert(values, 0, 0.0))
        index = np.arange(1, len(values) + 1)
        start = np.maximum(index - window, 0)
        out[key] = (sums[index] - sums[start]) / (index - start)
    return [{"step": float(step), **{k: float(out[k][i]) for k in keys}}
            for i, step in enumerate(steps)]


@dataclass
class Diagnostics:
    kl_per_dim: np.ndarray  # (K,) mean KL per dimension on the probe batch, nats
    posterior_std: np.ndarray  # (N*K,) sigma of q(z|x) for every image and dimension
    reconstructions: np.ndarray  # (n, 28, 28) decoded means of the probe's first images
    samples: np.ndarray  # (m, 28, 28) decoded prior samples (fixed noise)
    rate: float  # R = KL(q||p) on the probe batch, nats per image
    distortion: float  # D = -E_q log p(x|z) on the probe batch (one seeded z each), nats


@torch.no_grad()
def diagnose(model: VAE, probe: torch.Tensor, reconstruct: int = 8, samples: int = 16,
             seed: int = 0) -> Diagnostics:
    """Statistics of the current model on a fixed uint8 probe batch, from one encoder pass."""
    device = model_device(model)
    x = model.prepare(probe.to(device), train=False)
    mu, logvar = model.encode(x)
    kl = objectives.kl_standard_normal(mu, logvar)
    rate, distortion = _rate_and_distortion(model, x, mu, logvar, kl, seed)
    noise = torch.randn((samples, model.config.latent_dim),
                        generator=torch.Generator().manual_seed(seed)).to(device)
    return Diagnostics(kl_per_dim=kl.mean(0).cpu().numpy(),
                       posterior_std=torch.exp(0.5 * logvar).flatten().cpu().numpy(),
                       reconstructions=model.decode_images(mu[:reconstruct])[:, 0].cpu().numpy(),
                       samples=model.decode_images(noise)[:, 0].cpu().numpy(),
                       rate=rate, distortion=distortion)


def _rate_and_distortion(model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                         kl_per_dim: torch.Tensor, seed: int) -> tuple[float, float]:
    # A private generator: reseeding the global one would replay the training thread's noise.
    z = model.reparameterize(mu, logvar, torch.Generator().manual_seed(seed))
    distortion = -model.reconstruction_log_likelihood(model.decode_logits(z), x).mean()
    return float(kl_per_dim.sum(-1).mean()), float(distortion)


@torch.no_grad()
def bounds(model: VAE, probe: torch.Tensor, ks: tuple[int, ...] = (1, 10, 100, 1000),
           seed: int = 0) -> dict[int, float]:
    """Mean IWAE bound L_k over the probe batch for each k (L_1 is the ELBO), nats."""
    generator = torch.Generator().manual_seed(seed)
    device = model_device(model)
    x = model.prepare(probe.to(device), train=False)
    return {k: float(model.estimate_log_likelihood(x, samples=k, chunk=100,
                                                   generator=generator).mean()) for k in ks}


ACTIVE_KL_NATS = 0.01  # a latent dimension with less mean KL than this carries no information


def kl_summary(kl_per_dim: np.ndarray, images: int = PROBE_IMAGES) -> str:
    """The sentence under the KL-per-dimension bars, counted from the same values and the same
    threshold (ACTIVE_KL_NATS) that colour them: kl_per_dim (K,) float, nats."""
    active = int((kl_per_dim > ACTIVE_KL_NATS).sum())
    total = len(kl_per_dim)
    if active == total:
        rest = "none has collapsed to the prior."
    elif active == 0:
        rest = "every dimension has collapsed to the prior (posterior collapse)."
    else:
        rest = (f"the {total - active} grey one{'s' if total - active > 1 else ''} (a stub on "
                "the axis, value on top) collapsed to the prior.")
    return (f"KL per latent dimension on {images} test images: {active} of {total} carry more "
            f"than {ACTIVE_KL_NATS:g} nats; {rest}")


@torch.no_grad()
def rate_distortion(model: VAE, probe: torch.Tensor) -> tuple[float, float]:
    """(R, D) on the probe batch: R = KL(q||p), D = -E_q log p(x|z), nats per image."""
    device = model_device(model)
    x = model.prepare(probe.to(device), train=False)
    mu, logvar = model.encode(x)
    return _rate_and_distortion(model, x, mu, logvar, objectives.kl_standard_normal(mu, logvar), 0)


@dataclass
class LiveSnapshot:
    """Everything the live view draws, computed from a copy of the running weights."""

    smoothed: list[dict]
    markers: list[dict]
    diagnostics: Diagnostics  # also holds the current (R, D)
    drawn: dict = field(default_factory=dict)  # figures built from it, shared by watchers

    def rate_distortion_trail(self, limit: int = 150) -> list[tuple[float, float]]:
        """(R, D) along the smoothed curve (at most `limit` points), ending at the current model."""
        points = self.smoothed[::max(1, len(self.smoothed) // limit)]
        now = (self.diagnostics.rate, self.diagnostics.distortion)
        return [(r["kl"], r["reconstruction"]) for r in points] + [now]

    def knob_marks(self) -> list[tuple[float, float, str, bool, str]]:
        """Each knob change, placed at the (R, D) where the run was when it happened, with
        whether the curves label it (figures.labelled_changes: one rule for both charts, so
        a change named on one is named on the other), and its hover text. Changes at one point
        (within one logged step) are one mark: labelled as the latest of them that the
        curves name (the latest when they name none), and named by all of them on hover,
        'β→2, then β→5' (two marks there, the later one hid the earlier)."""
        if not self.smoothed:
            return []
        from explorer.figures import knob_label, labelled_changes  # only the server draws

        steps = np.array([r["step"] for r in self.smoothed])
        stood = set(labelled_changes(self.markers, float(steps[-1] - steps[0])))
        marks = []
        for index, m in enumerate(self.markers):
            r = self.smoothed[min(int(np.searchsorted(steps, m["step"])), len(self.smoothed) - 1)]
            label = knob_label(m["name"], m["value"], changed=True)
            mark = (r["kl"], r["reconstruction"], label, index in stood, label)
            if marks and marks[-1][:2] == mark[:2]:
                earlier = marks.pop()
                text = earlier[2] if earlier[3] and not mark[3] else label
                mark = (*mark[:2], text, earlier[3] or mark[3], f"{earlier[4]}, then {label}")
            marks.append(mark)
        return marks


def live_snapshot(trainer: Trainer, probe: torch.Tensor) -> LiveSnapshot:
    """What the live view draws now (the curve figures cap the points they draw).

    Its torch work runs on one thread (the setting is per thread), the core that background
    training leaves free, so a refresh does not take a core away from the run.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        diagnostics = diagnose(trainer.eval_copy(), probe)
    finally:
        torch.set_num_threads(threads)
    smoothed = smooth_records(trainer.log.records(), ("reconstruction", "kl", "elbo"))
    return LiveSnapshot(smoothed, trainer.log.markers(), diagnostics)


def beta_history(hyper: dict[str, float], markers: list[dict] | None = None,
                 start_beta: float | None = None) -> tuple[float, ...]:
    """The β values a run stood at, in order, repeats merged: from `start_beta` (else the
    first knob change's value, else the β in force) through the trainer's knob log
    `markers` to the β in `hyper` now. (1.0, 10.0) for a run turned from 1 to 10; (1.0, 4.0,
    1.0) for one turned and turned back; (2.0,) for one never turned."""
    beta = hyper.get("beta", 1.0)
    turned = [float(m["value"]) for m in markers or [] if m.get("name") == "beta"]
    history = [start_beta if start_beta is not None else (turned[0] if turned else beta)]
    for value in turned + [beta]:
        if value != history[-1]:
            history.append(value)
    return tuple(float(b) for b in history)


def finished_point_label(kind: str, hyper: dict[str, float],
                         markers: list[dict] | None = None, start_beta: float | None = None
                         ) -> str:
    """A finished run's label in the run store, from its trainer's knobs: "run at beta=2"
    or "sweep beta=2", with ", gaussian sigma=0.1" for a Gaussian decoder (its distortion
    is a log density, far from a Bernoulli run's on the same plane). A run whose β was
    turned (beta_history) says so: "run at beta=1->10" (first and last), and
    "run at beta=1->...->10" when it stood at other values between. The plane names points
    from RatePoint.betas, not from this text."""
    decoder = f", gaussian sigma={hyper['sigma']:g}" if "sigma" in hyper else ""
    betas = value_path(beta_history(hyper, markers, start_beta), arrow="->", between="...")
    return f"{kind}{'' if kind == 'sweep' else ' at'} beta={betas}{decoder}"


def run_beta_sweep(betas: list[float], settings: LabSettings, images: torch.Tensor,
                   labels: torch.Tensor, probe: torch.Tensor, steps: int = 300,
                   add_point=lambda point: None, stop: threading.Event | None = None
                   ) -> list[RatePoint]:
    """Train one short run per beta (sequentially, in the calling thread), record each final
    (R, D) point through add_point, and return them."""
    added = []
    for beta in betas:
        if stop is not None and stop.is_set():
            break
        trainer = make_trainer(settings, images, labels)
        trainer.config.max_steps = steps
        trainer.hyper["beta"] = float(beta)
        trainer.run()
        if trainer.state == "failed":
            continue
        rate, distortion = rate_distortion(trainer.model.eval(), probe)
        point = RatePoint(rate, distortion, float(beta),
                          finished_point_label("sweep", trainer.hyper), SWEEP_RUN,
                          betas=(float(beta),))
        add_point(point)
        added.append(point)
    return added


# ---- a live snapshot as bytes (it crosses from the worker to every server) ----------------
def snapshot_bytes(snapshot: LiveSnapshot, extra: dict[str, Any] | None = None) -> bytes:
    """npz bytes: the diagnostics' arrays plus the curves, markers and `extra` as JSON; read
    back with snapshot_from_bytes (no pickle either way)."""
    d = snapshot.diagnostics
    meta = {"smoothed": snapshot.smoothed, "markers": snapshot.markers, "rate": d.rate,
            "distortion": d.distortion, "extra": extra or {}}
    buffer = io.BytesIO()
    np.savez(buffer, kl_per_dim=d.kl_per_dim, posterior_std=d.posterior_std.astype(np.float32),
             reconstructions=d.reconstructions.astype(np.float32),
             samples=d.samples.astype(np.float32),
             meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    return buffer.getvalue()


def snapshot_from_bytes(payload: bytes) -> tuple[LiveSnapshot, dict[str, Any]]:
    with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
        meta = json.loads(arrays["meta"].tobytes().decode())
        diagnostics = Diagnostics(arrays["kl_per_dim"], arrays["posterior_std"],
                                  arrays["reconstructions"], arrays["samples"],
                                  float(meta["rate"]), float(meta["distortion"]))
    return LiveSnapshot(meta["smoothed"], meta["markers"], diagnostics), meta["extra"]


# ---- saving a run as a checkpoint ----------------------------------------------------------
def save_run(model: VAE, card: dict[str, Any], path: str | Path, test_images: torch.Tensor,
             samples: int = 100, seed: int = 0) -> dict[str, Any]:
    """Save a lab model as a checkpoint whose card carries its test NLL (IWAE bound with
    `samples` importance samples on the given uint8 test images, fixed binarization), with
    the model's current config (a Gaussian decoder's sigma as in force). Returns the card.

    Raises CheckpointError when the weights are not finite, CheckpointExists when a
    checkpoint of that name exists.
    """
    model = model.eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        x = model.prepare(test_images.to(model_device(model)), train=False)
        nll = float(-model.estimate_log_likelihood(x, samples=samples,
                                                   generator=generator).mean())
    card = {**card, "test_nll_nats": round(nll, 3), "eval_samples": samples,
            "test_images": len(test_images), "config": asdict(model.config)}
    checkpoints.save(model, card, path, overwrite=False)  # never replaces another's save
    return card


# ---- what the live view draws, built once per snapshot and shared ------------------------
# what the page says beside it (Markdown with $...$ math)
GAUSSIAN_NOTE = (
    r"Why can this run's ELBO be positive? A Gaussian decoder's ${\log p(x \mid z)}$ "
    "is the log of a density, not of a probability: with a small σ the density "
    r"exceeds 1 and its log is above 0, so the reconstruction term "
    r"${\mathbb{E}_q \log p(x \mid z)}$ and the ELBO can be positive, and the "
    r"reconstruction loss ${-\log p(x \mid z)}$ (the distortion $D$) negative. The "
    r"ELBO still bounds ${\log p(x)},$ a log density too.")
RATE_DISTORTION_CAPTION = (
    "Rate-distortion plane (Alemi et al. 2018): each point is a model, at rate "
    r"${R = \mathrm{KL}(q(z \mid x) \,\|\, p(z))}$ and distortion "
    r"${D = -\mathbb{E}_q \log p(x \mid z)};$ dotted lines have equal "
    r"${\mathrm{ELBO} = -(D + R)}.$ Green points are finished runs; a Gaussian "
    "decoder's (named so) measure D as a log density, so compare them only "
    "with each other. A finished run's point is measured once, on fixed test "
    "images with its final weights; the trail follows the smoothed training "
    "batches, so a run's point can lie a few nats off the end of its trail.")


def live_figures(snapshot: LiveSnapshot, finished: list[RatePoint], live: bool = True
                 ) -> dict[str, Any]:
    """The live view's five figures from one snapshot (the page and the benchmark both draw
    exactly these): the two loss terms, the ELBO, the rate-distortion plane (with a "now"
    point only while the run is `live`), KL per dimension and the posterior spreads."""
    from explorer import figures  # plotly stays out of the worker and the CLIs

    diagnostics = snapshot.diagnostics
    active = diagnostics.kl_per_dim > ACTIVE_KL_NATS
    return {
        "terms": figures.make_curves_figure(
            snapshot.smoothed, ["reconstruction", "kl"], snapshot.markers,
            # the logged term is the reconstruction loss −log p(x|z) (the distortion D),
            # named so: for a Gaussian decoder it is negative while log p(x|z) is positive
            names={"kl": "KL", "reconstruction": "−log p(x|z)"},
            # short enough for a laptop's half column (a longer one was cut at its end)
            title="Loss terms: −log p(x|z) (left axis), KL (right axis)",
            # short axis titles: a rotated title longer than the plot is cut at both ends
            y_title="−log p(x|z), nats", secondary=["kl"], secondary_title="KL, nats"),
        # the right margin the loss terms' second axis takes: both plots as wide, so one
        # step stands at one x in both
        "elbo": figures.make_curves_figure(snapshot.smoothed, ["elbo"], snapshot.markers,
                                           names={"elbo": "ELBO"},
                                           title="ELBO, nats per image (higher is better)"
                                           ).update_layout(margin=dict(r=70)),
        "rd": figures.make_rate_distortion_figure(snapshot.rate_distortion_trail(),
                                                  finished, snapshot.knob_marks(), live),
        "kl_bars": figures.make_kl_bars_figure(diagnostics.kl_per_dim, active,
                                               np.argsort(-diagnostics.kl_per_dim)),
        "std_hist": figures.make_histogram_figure(diagnostics.posterior_std,
                                                  "posterior std σ of q(z|x)")}


def knob_changes_text(markers: list[dict], limit: int = 8) -> str:
    """Every knob change of the run, oldest first, for the caption under the curves (the
    plots label only those lying apart): 'Knob changes: step 300 β→2, step 420 β→0.5.'
    Quick changes logged as one (MetricsLog.mark: requests within KNOB_BURST_SECONDS, as
    arrow-key presses or a drag) say how many they merge: 'β→5 (last of 3 quick changes)'
    ("3 presses" puzzled a user who had pressed 15 times: the browser sends fewer).
    The newest `limit` are listed, with how many earlier ones there were. '' for none."""
    if not markers:
        return ""
    from explorer.figures import knob_label

    shown = [f"step {m['step']:,} {knob_label(m['name'], m['value'], changed=True)}"
             + (f" (last of {m['presses']} quick changes)" if m.get("presses", 1) > 1 else "")
             for m in markers[-limit:]]
    earlier = len(markers) - len(shown)
    return ("Knob changes" + (f" (the last {len(shown)}; {earlier} earlier)" if earlier else "")
            + ": " + ", ".join(shown) + ".")


def now_text(latest: dict[str, float], snapshot: LiveSnapshot, batch_size: int,
             live: bool = True) -> str:
    """The live run's "now", said once for all three places that show it, since they differ
    by batch noise: the latest training batch (`latest`, nats per image), the curves' end
    (smoothed over SMOOTHING logged steps) and the plane's "now" point (the probe batch of
    fixed test images, one seeded z each; once the run has ended, its green finished point
    instead). Markdown with $...$ math."""
    end = snapshot.smoothed[-1] if snapshot.smoothed else latest
    d = snapshot.diagnostics
    return (f"Latest batch of {batch_size}: ELBO {signed(latest['elbo'], 1)}, reconstruction "
            rf"loss ${{-\log p(x \mid z)}}$ {signed(latest['reconstruction'], 1)}, KL "
            f"{signed(latest['kl'], 1)} nats per image. The curves end at ELBO "
            f"{signed(end['elbo'], 1)} (smoothed over {SMOOTHING} logged steps); "
            + ("the plane's blue \"now\" point" if live else "its finished (green) point")
            + f", on {PROBE_IMAGES} fixed test images, at ELBO "
            f"{signed(-(d.rate + d.distortion), 1)} (R {d.rate:.1f}, D {d.distortion:.1f}).")


def sweep_description(settings: LabSettings, steps: int, train_images: int = 60_000) -> str:
    """What a beta sweep trains, for the sentence above its button: each beta gets a fresh
    VAE of `settings` (the lab's defaults), trained from scratch for `steps` steps."""
    epochs = steps * settings.batch_size / max(train_images, 1)
    return (f"Each β trains a fresh VAE from scratch, one after another in a background "
            f"process: a {settings.latent_dim}-D latent, {settings.architecture.upper()} "
            f"encoder and decoder ({settings.hidden} hidden units), "
            f"{settings.likelihood.capitalize()} decoder, batch {settings.batch_size}, "
            f"learning rate {settings.learning_rate:g}, "
            f"for {steps:,} steps ({epochs:.2f} epochs of MNIST). When it ends, its rate and "
            f"distortion on {PROBE_IMAGES} fixed test images become one point on the plane.")


def curves_csv(snapshot: LiveSnapshot) -> str:
    """The live curves as CSV: step, reconstruction, KL and ELBO (nats per image, smoothed
    over SMOOTHING logged steps), then one comment line per knob change."""
    lines = ["step,reconstruction_nats,kl_nats,elbo_nats"]
    lines += [f"{r['step']:g},{r.get('reconstruction', float('nan')):.6g},"
              f"{r.get('kl', float('nan')):.6g},{r.get('elbo', float('nan')):.6g}"
              for r in snapshot.smoothed]
    lines += [f"# step {m['step']}: {m['name']} = {m['value']:g}" for m in snapshot.markers]
    return "\n".join(lines) + "\n"

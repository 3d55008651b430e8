"""The ELBO lab's library side: building a live VAE run, diagnostics of the current model
(KL per dimension, posterior spreads, reconstructions, prior samples), ELBO vs IWAE bounds,
rate-distortion points of finished runs, and a background beta sweep. No UI code."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from explorer import checkpoints, objectives
from explorer.device import background_training_threads, model_device
from explorer.models.vae import VAE, VAEConfig, init_output_bias
from explorer.training import BackgroundJob, TrainConfig, Trainer, TrainingRegistry

LAB_RUN = "elbo_lab"
SWEEP_RUN = "beta_sweep"


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


def build_model(settings: LabSettings, images: torch.Tensor | None = None) -> VAE:
    """A fresh VAE (its output bias set from `images` when given), or a copy of a
    checkpoint's weights when warm-starting."""
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
                 model: VAE | None = None) -> Trainer:
    model = model or build_model(settings, images)
    config = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size,
                         learning_rate=settings.learning_rate, seed=settings.seed,
                         device=settings.device, snapshot_every=20, max_log_points=1500,
                         threads=settings.threads or background_training_threads())
    hyper = {"sigma": settings.sigma} if model.config.likelihood == "gaussian" else {}
    return Trainer(LAB_RUN, model, images, labels, config, hyper=hyper,
                   card={"dataset": "mnist", "command": "ELBO lab (streamlit page)"})


def smooth_records(records: list[dict], keys: tuple[str, ...], window: int = 25) -> list[dict]:
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


@dataclass
class RatePoint:
    rate: float  # KL, nats per image
    distortion: float  # -E_q log p(x|z), nats per image
    beta: float
    label: str


@dataclass
class RateDistortionBook:
    """Finished runs' (R, D) points, shared by every browser of the server."""

    points: list[RatePoint] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, point: RatePoint) -> None:
        with self._lock:
            self.points.append(point)

    def all(self) -> list[RatePoint]:
        with self._lock:
            return list(self.points)


RATE_DISTORTION = RateDistortionBook()


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

    def knob_marks(self) -> list[tuple[float, float, str]]:
        """Each knob change, placed at the (R, D) where the run was when it happened."""
        if not self.smoothed:
            return []
        steps = np.array([r["step"] for r in self.smoothed])
        marks = []
        for m in self.markers:
            r = self.smoothed[min(int(np.searchsorted(steps, m["step"])), len(self.smoothed) - 1)]
            marks.append((r["kl"], r["reconstruction"], f"{m['name']}={m['value']:g}"))
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


class SharedSnapshots:
    """The latest snapshot of each run, shared by every browser watching it, so a room of
    browsers costs one snapshot per `max_age` seconds instead of one per browser."""

    def __init__(self, max_age: float = 0.5):
        self.max_age = max_age
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, int], tuple[tuple, float, LiveSnapshot]] = {}

    def get(self, trainer: Trainer, probe: torch.Tensor) -> LiveSnapshot:
        """A snapshot no older than max_age seconds, or one taken at the run's current step
        and state (a paused run is not recomputed)."""
        key, version = (id(trainer), id(probe)), (trainer.step, trainer.state)
        with self._lock:
            cached = self._entries.get(key)
            now = time.monotonic()
            if cached and (cached[0] == version or now - cached[1] < self.max_age):
                return cached[2]
            snapshot = live_snapshot(trainer, probe)
            self._entries = {key: (version, now, snapshot)}  # only the latest run is watched
            return snapshot


LIVE_SNAPSHOTS = SharedSnapshots()


def run_beta_sweep(betas: list[float], settings: LabSettings, images: torch.Tensor,
                   labels: torch.Tensor, probe: torch.Tensor, steps: int = 300,
                   book: RateDistortionBook = RATE_DISTORTION,
                   stop: threading.Event | None = None) -> list[RatePoint]:
    """Train one short run per beta (sequentially, in the calling thread) and record its
    final (R, D) point. Returns the points it added."""
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
        point = RatePoint(rate, distortion, float(beta), f"sweep beta={beta:g}")
        book.add(point)
        added.append(point)
    return added


class SweepRun(BackgroundJob):
    """A beta sweep wrapped so the training registry can hold it like a Trainer."""

    def __init__(self, betas: list[float], settings: LabSettings, images: torch.Tensor,
                 labels: torch.Tensor, probe: torch.Tensor, steps: int = 300):
        self.name, self.state, self.reason = SWEEP_RUN, "created", ""
        self.betas, self.done = list(betas), 0
        self._stop = threading.Event()
        self._arguments = (settings, images, labels, probe, steps)

    def _run(self) -> None:
        self.state = "running"
        settings, images, labels, probe, steps = self._arguments
        try:
            for beta in self.betas:
                if self._stop.is_set():
                    break
                run_beta_sweep([beta], settings, images, labels, probe, steps, stop=self._stop)
                self.done += 1
            self.state = "stopped" if self._stop.is_set() else "finished"
        except Exception as exc:  # report, never die silently
            self.state, self.reason = "failed", f"{type(exc).__name__}: {exc}"

    def start(self) -> "SweepRun":
        self._launch(self._run, "beta-sweep")
        return self

    def stop(self) -> None:
        self._stop.set()

    def summary(self) -> dict:
        return {"name": self.name, "state": self.state, "step": self.done,
                "epoch": f"{self.done}/{len(self.betas)} betas", "seconds": "",
                "reason": self.reason, "model": "VAE sweep"}


def start_sweep(registry: TrainingRegistry, betas: list[float], settings: LabSettings,
                images: torch.Tensor, labels: torch.Tensor, probe: torch.Tensor,
                steps: int = 300) -> SweepRun:
    return registry.start(SWEEP_RUN, lambda: SweepRun(betas, settings, images, labels, probe,
                                                      steps))

"""Model-agnostic training: a Trainer that runs in a background thread (or the foreground
for the CLI), a bounded thread-safe metrics log, live hyperparameters, a NaN guard, and a
per-process registry so every browser sees the same runs.

A model plugs in by providing `training_loss(images_uint8, labels, hyper) -> dict` whose
"loss" entry is minimised and whose other scalar entries are logged, and a
`live_hyperparameters` dict of knobs that may change mid-run.
"""

from __future__ import annotations

import copy
import math
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from explorer import checkpoints
from explorer.device import device_name, pick_device

TRAINER_LEVEL_KNOBS = ("learning_rate",)


@dataclass
class TrainConfig:
    epochs: float = 1.0  # passes over the training set (fractions allowed)
    max_steps: int | None = None  # stop after this many steps even mid-epoch
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    device: str = "auto"  # resolved by explorer.device.pick_device
    snapshot_every: int = 25  # steps between in-memory copies of known-good weights
    checkpoint_path: str | None = None  # where to save (atomically) during and after the run
    checkpoint_every_s: float = 60.0  # seconds between periodic saves
    max_log_points: int = 4000  # the metrics log halves its resolution beyond this
    threads: int | None = None  # torch CPU threads for this run (None: leave as is)
    lr_schedule: str = "constant"  # "constant" or "cosine" (decays the live rate to 0 at the end)


class MetricsLog:
    """Append-only, thread-safe log of {step, time, epoch, <losses>} with bounded memory.

    When more than max_points records are held, every other one is dropped and only every
    2nd (then 4th, ...) future step is kept, so a long run keeps its whole shape.
    """

    def __init__(self, max_points: int = 4000):
        self._lock = threading.Lock()
        self._records: list[dict[str, float]] = []
        self._markers: list[dict[str, Any]] = []
        self._stride = 1
        self._latest: dict[str, float] | None = None
        self.max_points = max(max_points, 16)

    def append(self, record: dict[str, float]) -> None:
        with self._lock:
            self._latest = record
            if int(record["step"]) % self._stride:
                return
            self._records.append(record)
            if len(self._records) > self.max_points:
                self._records = self._records[::2]
                self._stride *= 2

    def mark(self, step: int, name: str, value: float, elapsed: float) -> None:
        with self._lock:
            self._markers.append({"step": step, "time": elapsed, "name": name, "value": value})

    def records(self) -> list[dict[str, float]]:
        with self._lock:
            return list(self._records)

    def markers(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._markers)

    def latest(self) -> dict[str, float] | None:
        with self._lock:
            return None if self._latest is None else dict(self._latest)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


def make_adam(parameters, learning_rate: float) -> torch.optim.Optimizer:
    """Adam with the fused kernel where this torch build has one (about 2x faster steps)."""
    parameters = list(parameters)
    try:
        return torch.optim.Adam(parameters, lr=learning_rate, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(parameters, lr=learning_rate)


class TrainingBusy(RuntimeError):
    """Another heavy run is training and the server allows only so many at once."""


class BackgroundJob:
    """A daemon thread's lifecycle, shared by the Trainer and other registry jobs."""

    _thread: threading.Thread | None = None

    def _launch(self, target: Callable[[], None], name: str) -> None:
        if self._thread is None:
            # Each torch op releases the GIL; a server thread doing Python work then keeps it
            # for up to the switch interval (5 ms by default) while the job waits. 1 ms
            # bounds that wait, so a page refreshing beside a run barely slows it.
            sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
            self._thread = threading.Thread(target=target, name=name, daemon=True)
            self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def active(self) -> bool:
        """True while the background thread lives (running or paused)."""
        return self._thread is not None and self._thread.is_alive()


class Trainer(BackgroundJob):
    """Trains one model on uint8 images; start() for a background thread, run() to block."""

    def __init__(self, name: str, model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                 config: TrainConfig | None = None, hyper: dict[str, float] | None = None,
                 card: dict[str, Any] | None = None):
        self.name = name
        self.config = config or TrainConfig()
        self.device = pick_device(self.config.device)
        self.model = model.to(self.device).train()
        self.images, self.labels = images, labels
        self.hyper = dict(getattr(model, "live_hyperparameters", {}))
        self.hyper["learning_rate"] = self.config.learning_rate
        for key, value in (hyper or {}).items():
            self._check_knob(key)
            self.hyper[key] = float(value)
        self.card_base = dict(card or {})
        self.optimizer = make_adam(self.model.parameters(), self.hyper["learning_rate"])
        self.log = MetricsLog(self.config.max_log_points)
        self.callbacks: list[Callable[[Trainer, dict[str, float]], None]] = []
        self.state = "created"  # created, running, paused, stopped, finished, failed
        self.reason = ""
        self.step = 0
        self.epoch = 0.0
        self.train_seconds = 0.0
        self.last_saved: str | None = None
        self._lock = threading.RLock()  # held during each optimisation step
        self._resume = threading.Event()
        self._resume.set()
        self._stop = threading.Event()
        self._pending: dict[str, float] = {}
        self._good_state = self._copy_state()
        self._good_step = 0
        self._generator = torch.Generator().manual_seed(self.config.seed)
        torch.manual_seed(self.config.seed)

    # ---- control -------------------------------------------------------------------
    def start(self) -> "Trainer":
        """Run in a daemon thread that outlives the browser tab that started it."""
        self._launch(self.run, f"trainer-{self.name}")
        return self

    def pause(self) -> None:
        if self.state == "running":
            self._resume.clear()
            self.state = "paused"

    def resume(self) -> None:
        if self.state == "paused":
            self.state = "running"
            self._resume.set()

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()

    def add_callback(self, callback: Callable[["Trainer", dict[str, float]], None]) -> None:
        """callback(trainer, record) after every step, in the training thread."""
        self.callbacks.append(callback)

    def _check_knob(self, name: str) -> None:
        if name not in self.hyper and name not in TRAINER_LEVEL_KNOBS:
            raise KeyError(f"'{name}' is not a live hyperparameter of {type(self.model).__name__}"
                           f" (live: {', '.join(sorted(self.hyper)) or 'none'})")

    def set_hyper(self, name: str, value: float) -> None:
        """Change a live knob; it takes effect at the next step and is marked in the log."""
        self._check_knob(name)
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number")
        with self._lock:
            self._pending[name] = value

    def current_hyper(self) -> dict[str, float]:
        """Knob values including changes requested but not yet applied."""
        with self._lock:
            return {**self.hyper, **self._pending}

    # ---- the loop ------------------------------------------------------------------
    def run(self) -> None:
        """Train until epochs/max_steps are done, stop() is called, or the loss is not finite."""
        if self.config.threads:  # for this thread's torch ops (OpenMP settings are per thread)
            torch.set_num_threads(self.config.threads)
        self.state = "running"
        count = len(self.images)
        if count == 0:
            self.state, self.reason = "failed", "no training images"
            return
        batch = max(1, min(self.config.batch_size, count))
        steps_per_epoch = max(1, count // batch)
        total_steps = int(math.ceil(self.config.epochs * steps_per_epoch))
        if self.config.max_steps is not None:
            total_steps = min(total_steps, self.config.max_steps)
        started = time.perf_counter() - self.train_seconds
        last_save = time.perf_counter()
        order = torch.randperm(count, generator=self._generator)
        cursor = 0
        try:
            while self.step < total_steps and not self._stop.is_set():
                waited = time.perf_counter()
                self._resume.wait()
                started += time.perf_counter() - waited  # paused time is not training time
                if self._stop.is_set():
                    break
                if cursor + batch > count:
                    order, cursor = torch.randperm(count, generator=self._generator), 0
                index = order[cursor:cursor + batch]
                cursor += batch
                images = self.images[index].to(self.device, non_blocking=True)
                labels = self.labels[index].to(self.device, non_blocking=True)
                with self._lock:
                    self._apply_pending(time.perf_counter() - started)
                    self._set_scheduled_rate(total_steps)
                    values = self._one_step(images, labels)
                    if values is None:
                        return
                    self.step += 1
                    self.epoch = self.step / steps_per_epoch
                    self.train_seconds = time.perf_counter() - started
                    if self.step % self.config.snapshot_every == 0:
                        if not self._weights_finite():
                            self._fail_non_finite(values, where="weights")
                            return
                        self._good_state, self._good_step = self._copy_state(), self.step
                record = {"step": self.step, "time": self.train_seconds, "epoch": self.epoch,
                          **values}
                self.log.append(record)
                for callback in self.callbacks:
                    callback(self, record)
                if (self.config.checkpoint_path
                        and time.perf_counter() - last_save > self.config.checkpoint_every_s):
                    self.save(self.config.checkpoint_path)
                    last_save = time.perf_counter()
            self.state = "stopped" if self._stop.is_set() else "finished"
            if self.config.checkpoint_path:
                self.save(self.config.checkpoint_path)
        except Exception as exc:  # never let a background thread die silently
            self.state, self.reason = "failed", f"{type(exc).__name__}: {exc}"
            self._restore_good()
        finally:
            self.model.eval()

    def _apply_pending(self, elapsed: float) -> None:
        for name, value in self._pending.items():
            self.hyper[name] = value
            if name == "learning_rate":
                for group in self.optimizer.param_groups:
                    group["lr"] = value
            self.log.mark(self.step, name, value, elapsed)
        self._pending.clear()

    def _set_scheduled_rate(self, total_steps: int) -> None:
        rate = self.hyper["learning_rate"]
        if self.config.lr_schedule == "cosine":
            rate *= 0.5 * (1 + math.cos(math.pi * self.step / max(total_steps, 1)))
        for group in self.optimizer.param_groups:
            group["lr"] = rate

    def _one_step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float] | None:
        self.model.train()
        terms = self.model.training_loss(images, labels, self.hyper)
        loss = terms["loss"]
        if not torch.isfinite(loss):
            self._fail_non_finite(terms)
            return None
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        # Gradients are not checked every step (that cost ~10 % of a small VAE step): a
        # non-finite gradient makes the weights non-finite, which the next loss or the
        # check before each good-weights snapshot catches.
        self.optimizer.step()
        return {key: float(value.detach()) for key, value in terms.items()}

    def _fail_non_finite(self, terms: dict[str, torch.Tensor | float], where: str = "loss") -> None:
        shown = ", ".join(f"{k}={float(torch.as_tensor(v).detach()):.4g}"
                          for k, v in terms.items())
        self.state = "failed"
        self.reason = (f"The {where} became NaN/Inf at step {self.step + 1} ({shown}). "
                       f"Training stopped and the weights from step {self._good_step} were "
                       "restored; try a lower learning rate or a gentler knob setting.")
        self._restore_good()

    def _weights_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.model.parameters())

    def _copy_state(self) -> dict[str, Any]:
        return {"model": copy.deepcopy(self.model.state_dict()),
                "optimizer": copy.deepcopy(self.optimizer.state_dict())
                if hasattr(self, "optimizer") else None}

    def _restore_good(self) -> None:
        with self._lock:
            self.model.load_state_dict(self._good_state["model"])
            if self._good_state["optimizer"] is not None:
                self.optimizer.load_state_dict(self._good_state["optimizer"])
            self.model.eval()

    # ---- reading the model while it trains ---------------------------------------
    def eval_copy(self) -> nn.Module:
        """A frozen copy of the current weights in eval mode, safe to use from other threads."""
        with self._lock:
            model = copy.deepcopy(self.model)
        return model.eval()

    def card(self) -> dict[str, Any]:
        card = {"dataset": "unknown", "command": "trained in the app", **self.card_base}
        card.update({
            "model": type(self.model).__name__,
            "config": asdict(self.model.config),
            "epochs": round(self.epoch, 3),
            "steps": self.step,
            "train_seconds": round(self.train_seconds, 1),
            "hardware": device_name(self.device),
            "train_config": {k: v for k, v in asdict(self.config).items()
                             if k not in ("checkpoint_path",)},
            "live_hyperparameters": dict(self.hyper),
        })
        return card

    def save(self, path: str, extra: dict[str, Any] | None = None,
             half_precision: bool = False) -> str:
        """Atomically save the current (finite) weights and a filled card."""
        with self._lock:
            card = {**self.card(), **(extra or {})}
            checkpoints.save(self.model, card, path, half_precision=half_precision)
        self.last_saved = path
        return path

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "step": self.step,
                "epoch": round(self.epoch, 2), "seconds": round(self.train_seconds, 1),
                "reason": self.reason, "model": type(self.model).__name__}


@dataclass
class TrainingRegistry:
    """One per server process: every session sees the same runs; heavy runs are capped."""

    max_active: int = field(default_factory=lambda: int(os.environ.get("EXPLORER_MAX_RUNS", "1")))
    _runs: dict[str, Trainer] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, name: str, factory: Callable[[], Trainer]) -> Trainer:
        """Start a run under `name`, or return the one already active under that name.

        Two browsers pressing start at once therefore get one run. Raises TrainingBusy when
        max_active other runs are active.
        """
        with self._lock:
            existing = self._runs.get(name)
            if existing is not None and existing.active:
                return existing
            busy = [t for t in self._runs.values() if t.active]
            if len(busy) >= self.max_active:
                raise TrainingBusy(f"{len(busy)} training run(s) already active "
                                   f"({', '.join(t.name for t in busy)}); this server allows "
                                   f"{self.max_active}. Stop one first or set "
                                   "EXPLORER_MAX_RUNS.")
            trainer = factory()
            trainer.name = name
            self._runs[name] = trainer
        return trainer.start()

    def get(self, name: str) -> Trainer | None:
        with self._lock:
            return self._runs.get(name)

    def runs(self) -> list[Trainer]:
        with self._lock:
            return list(self._runs.values())

    def active(self) -> list[Trainer]:
        return [t for t in self.runs() if t.active]

    def remove(self, name: str) -> None:
        """Forget a finished run (an active one is stopped first)."""
        with self._lock:
            trainer = self._runs.pop(name, None)
        if trainer is not None:
            trainer.stop()


REGISTRY = TrainingRegistry()

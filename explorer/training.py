"""Model-agnostic training: a Trainer that runs in a background thread (or the foreground
for the CLI and the lab's worker process), a bounded thread-safe metrics log, live
hyperparameters, a NaN guard, and an exact resume state.

A model plugs in by providing `training_loss(images_uint8, labels, hyper) -> dict` whose
"loss" entry is minimised and whose other scalar entries are logged, and a
`live_hyperparameters` dict of knobs that may change mid-run.
"""

from __future__ import annotations

import copy
import math
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import Any, Callable

import torch
from torch import nn

from explorer import checkpoints
from explorer.device import device_name, pick_device

TRAINER_LEVEL_KNOBS = ("learning_rate",)
KNOB_BURST_SECONDS = 2.0  # changes of one knob this close in training time are one gesture


def core_hours(segments: list[dict[str, Any]], train_seconds: float) -> float:
    """CPU core-hours of a run: each stretch's training seconds times the threads named in
    its hardware ("CPU: AMD EPYC (2 threads)"; 1 when not named), summed, / 3600.
    `segments` are a Trainer's (seconds_before ascending); train_seconds is the total."""
    total = 0.0
    for index, segment in enumerate(segments):
        end = segments[index + 1]["seconds_before"] if index + 1 < len(segments) \
            else train_seconds
        match = re.search(r"\((\d+) threads?", segment.get("hardware", ""))
        total += max(0.0, end - segment["seconds_before"]) * (int(match.group(1)) if match else 1)
    return total / 3600


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
    # "constant"; "cosine" (decays the live rate to 0 at the end); "wsd" (warmup-stable-decay:
    # constant, then a linear decay to 0 over the last decay_epochs, so a run can be
    # lengthened by resuming with more epochs until its decay has begun)
    lr_schedule: str = "constant"
    decay_epochs: float = 1.0  # length of the wsd schedule's final decay
    warmup_steps: int = 0  # linear warmup of the learning rate from 0 (any schedule)
    precision: str = "float32"  # "float32" or "bfloat16" (autocast; weights stay float32)
    channels_last: bool = False  # NHWC memory layout for convolutions (faster on some CPUs)
    compile: bool = False  # torch.compile the training loss (first steps are slow)
    ema: float = 0.0  # Polyak averaging of the weights (PixelCNN++); 0 = off, e.g. 0.999
    state_path: str | None = None  # exact resume state (fp32), written every checkpoint_every_s

    def validate(self) -> None:
        """Raise ValueError for settings the loop cannot honour."""
        if self.lr_schedule not in ("constant", "cosine", "wsd"):
            raise ValueError(f"unknown lr_schedule '{self.lr_schedule}'")
        if self.precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be float32 or bfloat16, not '{self.precision}'")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError("ema must be in [0, 1)")


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

    def mark(self, step: int, name: str, value: float, elapsed: float, presses: int = 1
             ) -> None:
        """Log a knob change at `step` (`elapsed` training seconds). A change of the same knob
        as the last one within KNOB_BURST_SECONDS of it (a run of arrow-key presses on one
        slider) extends that change instead of adding one: the marker takes the new value,
        step and time and counts its presses."""
        with self._lock:
            last = self._markers[-1] if self._markers else None
            if (last is not None and last["name"] == name
                    and 0 <= elapsed - last["time"] <= KNOB_BURST_SECONDS):
                last.update(step=step, time=elapsed, value=value,
                            presses=last.get("presses", 1) + presses)
                return
            self._markers.append({"step": step, "time": elapsed, "name": name, "value": value,
                                  "presses": presses})

    def records(self) -> list[dict[str, float]]:
        with self._lock:
            return list(self._records)

    def markers(self) -> list[dict[str, Any]]:
        with self._lock:  # copies: a burst of presses updates the last marker in place
            return [dict(m) for m in self._markers]

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
        self.config.validate()
        self.device = pick_device(self.config.device)
        self.model = model.to(self.device).train()
        if self.config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self._loss_fn = self.model.training_loss
        if self.config.compile:
            self._loss_fn = torch.compile(self.model.training_loss)
        self.ema_weights = ([p.detach().clone() for p in self.model.parameters()]
                            if self.config.ema else None)
        self.images, self.labels = images, labels
        self.hyper = dict(getattr(model, "live_hyperparameters", {}))
        self.hyper["learning_rate"] = self.config.learning_rate
        for key, value in (hyper or {}).items():
            self._check_knob(key)
            self.hyper[key] = float(value)
            self._sync_config(key, float(value))
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
        self._order: torch.Tensor | None = None  # this epoch's shuffled image indices
        self._cursor = 0  # position in _order
        self.segments: list[dict[str, Any]] = []  # (re)starts: hardware, steps, seconds
        self.extra_state: dict[str, Any] = {}  # the caller's own resume data (e.g. CLI flags)
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
        steps_per_epoch = self.steps_per_epoch()
        total_steps = self.total_steps()
        started = time.perf_counter() - self.train_seconds
        last_save = time.perf_counter()
        if self._order is None or len(self._order) != count:
            self._order, self._cursor = torch.randperm(count, generator=self._generator), 0
        self.segments.append({"hardware": device_name(self.device), "from_step": self.step,
                              "seconds_before": round(self.train_seconds, 1)})
        try:
            while self.step < total_steps and not self._stop.is_set():
                waited = time.perf_counter()
                self._resume.wait()
                started += time.perf_counter() - waited  # paused time is not training time
                if self._stop.is_set():
                    break
                if self._cursor + batch > count:
                    self._order = torch.randperm(count, generator=self._generator)
                    self._cursor = 0
                index = self._order[self._cursor:self._cursor + batch]
                self._cursor += batch
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
                if time.perf_counter() - last_save > self.config.checkpoint_every_s:
                    if not self._weights_finite():  # a NaN gradient under a finite loss
                        self._fail_non_finite(values, where="weights")
                        return
                    self._save_periodic()
                    last_save = time.perf_counter()
            if not self._weights_finite():
                self._fail_non_finite(self.log.latest() or {}, where="weights")
                return
            self.state = "stopped" if self._stop.is_set() else "finished"
            self._save_periodic()
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
            self._sync_config(name, value)
            self.log.mark(self.step, name, value, elapsed)
        self._pending.clear()

    def _sync_config(self, name: str, value: float) -> None:
        """A live knob that is also a field of the model's config (a Gaussian decoder's
        sigma) is part of the model: write it there, so every evaluation, eval_copy() and
        saved card use the value in force, not the starting one."""
        config = getattr(self.model, "config", None)
        if is_dataclass(config) and name in {f.name for f in fields(config)}:
            setattr(config, name, type(getattr(config, name))(value))

    def _save_periodic(self) -> None:
        """The run's checkpoint and resume state, each only when a path is configured; both
        refuse non-finite weights (then the run fails and re-saves its good weights)."""
        if self.config.checkpoint_path:
            self.save(self.config.checkpoint_path, weights="ema")
        if self.config.state_path:
            self.save_state(self.config.state_path)

    def steps_per_epoch(self) -> int:
        count = len(self.images)
        return max(1, count // max(1, min(self.config.batch_size, count)))

    def total_steps(self) -> int:
        """Optimisation steps in the whole run (epochs, capped by max_steps)."""
        total = int(math.ceil(self.config.epochs * self.steps_per_epoch()))
        if self.config.max_steps is not None:
            total = min(total, self.config.max_steps)
        return total

    def scheduled_rate(self, step: int, total_steps: int) -> float:
        """Learning rate at `step` of `total_steps` (the live base rate times the schedule)."""
        rate = self.hyper["learning_rate"]
        if self.config.lr_schedule == "cosine":
            rate *= 0.5 * (1 + math.cos(math.pi * step / max(total_steps, 1)))
        elif self.config.lr_schedule == "wsd":
            decay = max(1, int(round(self.config.decay_epochs * self.steps_per_epoch())))
            rate *= min(1.0, max(0.0, (total_steps - step) / decay))
        if self.config.warmup_steps and step < self.config.warmup_steps:
            rate *= (step + 1) / self.config.warmup_steps
        return rate

    def _set_scheduled_rate(self, total_steps: int) -> None:
        rate = self.scheduled_rate(self.step, total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = rate

    def _one_step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float] | None:
        self.model.train()
        if self.config.channels_last and images.dim() == 4:
            images = images.contiguous(memory_format=torch.channels_last)
        if self.config.precision == "bfloat16":
            with torch.autocast(self.device.type, dtype=torch.bfloat16):
                terms = self._loss_fn(images, labels, self.hyper)
        else:
            terms = self._loss_fn(images, labels, self.hyper)
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
        if self.ema_weights is not None:  # w_ema <- ema * w_ema + (1 - ema) * w
            with torch.no_grad():
                torch._foreach_lerp_(self.ema_weights, list(self.model.parameters()),
                                     1.0 - self.config.ema)
        return {key: float(value.detach()) for key, value in terms.items()}

    def _fail_non_finite(self, terms: dict[str, torch.Tensor | float], where: str = "loss") -> None:
        shown = ", ".join(f"{k}={float(torch.as_tensor(v).detach()):.4g}"
                          for k, v in terms.items())
        self.state = "failed"
        self.reason = (f"The {where} became NaN/Inf at step {self.step + 1} ({shown}). "
                       f"Training stopped and the weights from step {self._good_step} were "
                       "restored; try a lower learning rate or a gentler knob setting.")
        self._restore_good()
        try:  # files written before the failure may hold the bad weights: overwrite them
            self._save_periodic()
        except checkpoints.CheckpointError:
            pass

    def weights_finite(self) -> bool:
        """True when every parameter and buffer of the model is finite."""
        return self._weights_finite()

    def _weights_finite(self) -> bool:
        return checkpoints.all_finite(self.model.state_dict())

    def _copy_state(self) -> dict[str, Any]:
        return {"model": copy.deepcopy(self.model.state_dict()),
                "optimizer": copy.deepcopy(self.optimizer.state_dict())
                if hasattr(self, "optimizer") else None,
                "ema": None if getattr(self, "ema_weights", None) is None
                else [t.clone() for t in self.ema_weights]}

    def _restore_good(self) -> None:
        with self._lock:
            self.model.load_state_dict(self._good_state["model"])
            if self._good_state["optimizer"] is not None:
                self.optimizer.load_state_dict(self._good_state["optimizer"])
            if self._good_state.get("ema") is not None:
                for target, good in zip(self.ema_weights, self._good_state["ema"]):
                    target.copy_(good)
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
                             if k not in ("checkpoint_path", "state_path")},
            # CPU: core-hours (each stretch's wall time times its threads); else device hours
            "cpu_hours" if self.device.type == "cpu" else "device_hours":
                round(core_hours(self.segments, self.train_seconds)
                      if self.device.type == "cpu" else self.train_seconds / 3600, 3),
            "wall_hours": round(self.train_seconds / 3600, 3),
            "segments": list(self.segments),
            "live_hyperparameters": dict(self.hyper),
        })
        prior = self.card_base.get("initialised_from") or {}
        if self.device.type == "cpu" and prior.get("cpu_hours") is not None:
            # a warm start's hours include those of the run it started from
            card["cpu_hours_total"] = round(card["cpu_hours"] + prior["cpu_hours"], 3)
        return card

    def averaged_model(self) -> nn.Module:
        """The model with its Polyak-averaged weights (a copy; the model itself when the
        run keeps no average)."""
        if self.ema_weights is None:
            return self.model
        with self._lock:
            model = copy.deepcopy(self.model)
            with torch.no_grad():
                for target, average in zip(model.parameters(), self.ema_weights):
                    target.copy_(average)
        return model.eval()

    def save(self, path: str, extra: dict[str, Any] | None = None,
             half_precision: bool = False, weights: str = "ema") -> str:
        """Atomically save the weights (the Polyak average when the run keeps one and
        weights="ema", else the current ones) and a filled card.

        Raises CheckpointError, writing nothing, when a weight is NaN or infinite.
        """
        with self._lock:
            card = {**self.card(), **(extra or {})}
            model = self.averaged_model() if weights == "ema" else self.model
            checkpoints.save(model, card, path, half_precision=half_precision)
        self.last_saved = path
        return path

    # ---- exact resume ------------------------------------------------------------------
    def training_state(self) -> dict[str, Any]:
        """Everything an exact resume needs (fp32 weights, optimizer, averaged weights,
        step, data order and cursor, both random generators, log, card); plain types and
        tensors only, so torch.load(weights_only=True) reads it back."""
        with self._lock:
            return {
                "format": "explorer-run-state-1",
                "name": self.name,
                "model": type(self.model).__name__,
                "model_config": asdict(self.model.config),
                "train_config": asdict(self.config),
                "weights": {k: v.detach().cpu().clone()
                            for k, v in self.model.state_dict().items()},
                "optimizer": copy.deepcopy(self.optimizer.state_dict()),
                "ema": None if self.ema_weights is None
                else [t.detach().cpu().clone() for t in self.ema_weights],
                "hyper": dict(self.hyper),
                "step": self.step, "epoch": self.epoch, "train_seconds": self.train_seconds,
                "order": None if self._order is None else self._order.clone(),
                "cursor": self._cursor,
                "generator": self._generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "log": self.log.records(), "markers": self.log.markers(),
                "segments": list(self.segments),
                "card_base": dict(self.card_base),
                "extra": dict(self.extra_state),
            }

    def load_training_state(self, state: dict[str, Any]) -> None:
        """Restore a training_state() dict into this (freshly built) trainer."""
        if state.get("format") != "explorer-run-state-1":
            raise checkpoints.CheckpointError("not a training state file")
        with self._lock:
            self.model.load_state_dict(state["weights"])
            self.optimizer.load_state_dict(state["optimizer"])
            if state["ema"] is not None:
                if self.ema_weights is None:
                    raise checkpoints.CheckpointError("the state keeps averaged weights but "
                                                      "this run's ema is 0")
                for target, value in zip(self.ema_weights, state["ema"]):
                    target.copy_(value)
            self.hyper.update(state["hyper"])
            for name, value in state["hyper"].items():
                self._sync_config(name, value)
            self.step, self.epoch = int(state["step"]), float(state["epoch"])
            self.train_seconds = float(state["train_seconds"])
            self._order = state["order"]
            self._cursor = int(state["cursor"])
            self._generator.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
            for record in state["log"]:
                self.log.append(record)
            for marker in state["markers"]:
                self.log.mark(marker["step"], marker["name"], marker["value"], marker["time"],
                              marker.get("presses", 1))
            self.segments = list(state["segments"])
            self.card_base = {**state["card_base"], **self.card_base}
            self._good_state, self._good_step = self._copy_state(), self.step

    def save_state(self, path: str) -> str:
        """Write training_state() atomically; CheckpointError when a weight is not finite."""
        checkpoints.save_state(self.training_state(), path)
        return path

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "step": self.step,
                "epoch": round(self.epoch, 2), "seconds": round(self.train_seconds, 1),
                "reason": self.reason, "model": type(self.model).__name__}

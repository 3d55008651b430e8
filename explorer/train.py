"""Command line training: python -m explorer.train MODEL --dataset mnist --epochs N --out PATH.

Uses torch + numpy only, so it runs on a GPU box without streamlit. Model config fields
become flags (--latent-dim 16, --architecture conv, ...); the card records the exact
command, hardware, wall time and the test metric.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch

from explorer import checkpoints, data, models, quality
from explorer.device import device_name, model_device
from explorer.training import TrainConfig, Trainer


def _add_dataclass_flags(parser: argparse.ArgumentParser, config_class: type, prefix: str = ""
                         ) -> None:
    for f in dataclasses.fields(config_class):
        flag = "--" + prefix + f.name.replace("_", "-")
        default = f.default
        kind = type(default) if default is not None and not isinstance(default, bool) else str
        if isinstance(default, bool):
            parser.add_argument(flag, dest=prefix + f.name, default=default,
                                type=lambda v: v.lower() in ("1", "true", "yes"))
        elif f.name in ("checkpoint_path", "state_path"):
            continue  # set from --out and --state
        elif f.name in ("max_steps", "threads"):
            parser.add_argument(flag, dest=prefix + f.name, default=None, type=int)
        else:
            parser.add_argument(flag, dest=prefix + f.name, default=default, type=kind)


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m explorer.train", description=__doc__)
    parser.add_argument("model", help=f"one of {', '.join(sorted(models.CLI_ALIASES))} "
                                      f"or {', '.join(models.MODEL_CLASSES)}")
    parser.add_argument("--dataset", default="mnist", choices=sorted(data.DATASETS))
    parser.add_argument("--out", required=True, help="checkpoint path without extension")
    parser.add_argument("--eval-samples", type=int, default=1000,
                        help="importance samples per test image for the card's test metric")
    parser.add_argument("--eval-limit", type=int, default=None,
                        help="evaluate on the first N test images only (default: all)")
    parser.add_argument("--half", action="store_true", help="store weights as fp16")
    parser.add_argument("--train-limit", type=int, default=None,
                        help="train on the first N training images only")
    parser.add_argument("--download", action="store_true", help="download the data if missing")
    parser.add_argument("--state", default=None,
                        help="resume state file (default: checkpoints/runs/NAME.state.pt "
                             "beside --out)")
    parser.add_argument("--init", default=None,
                        help="start from this checkpoint's weights (same model and config; "
                             "a warm start: fresh optimizer and schedule, its card is cited)")
    parser.add_argument("--quality-samples", type=int, default=0,
                        help="samples per class for the card's sample-quality scores "
                             "(classifier verdicts; 0 = skip)")
    _add_dataclass_flags(parser, TrainConfig)
    known, _ = parser.parse_known_args(argv)
    try:
        model_class = models.MODEL_CLASSES[models.resolve_name(known.model)]
    except KeyError:
        parser.error(f"unknown model '{known.model}'")
    _add_dataclass_flags(parser, model_class.config_class, prefix="")
    return parser


class ProgressBar:
    """A plain text progress bar for the terminal (no tqdm dependency); when output goes to
    a file it prints one line every `log_seconds` instead of redrawing."""

    def __init__(self, total: int, every: int = 20, log_seconds: float = 30.0):
        self.total, self.every, self.started = total, every, time.perf_counter()
        self.interactive = sys.stderr.isatty()
        self.log_seconds, self.last_line = log_seconds, 0.0

    def __call__(self, trainer: Trainer, record: dict[str, float]) -> None:
        step = int(record["step"])
        if step % self.every and step != self.total:
            return
        if not self.interactive:
            now = time.perf_counter()
            if now - self.last_line < self.log_seconds and step != self.total:
                return
            self.last_line = now
        done = step / max(self.total, 1)
        bar = "#" * int(30 * done)
        shown = " ".join(f"{k}={v:.3f}" for k, v in record.items()
                         if k not in ("step", "time", "epoch"))
        sys.stderr.write(f"\r[{bar:<30}] {step}/{self.total} ep {record['epoch']:.2f} "
                         f"{record['time']:.0f}s {shown}   ")
        if step == self.total or not self.interactive:
            sys.stderr.write("\n")
        sys.stderr.flush()


def evaluate_model(model: torch.nn.Module, split: data.Split, samples: int, limit: int | None,
                   batch_size: int = 100) -> tuple[float, int]:
    """Mean test metric over the first `limit` images (all when None)."""
    images, labels = split.images, split.labels
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    device = model_device(model)
    model.eval()
    total, count = 0.0, 0
    torch.manual_seed(0)
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size].to(device)
        values = model.test_metric(batch, labels[start:start + batch_size].to(device),
                                   samples=samples)
        total += float(values.sum())
        count += len(batch)
    return total / max(count, 1), count


def _install_signal_handlers(trainer: Trainer) -> None:
    """SIGUSR1 pauses, SIGUSR2 resumes (paused time is not training time); SIGTERM and
    SIGINT stop after the current step, saving the resume state."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGUSR1, lambda *_: trainer.pause())
    signal.signal(signal.SIGUSR2, lambda *_: trainer.resume())
    signal.signal(signal.SIGTERM, lambda *_: trainer.stop())
    signal.signal(signal.SIGINT, lambda *_: trainer.stop())


def default_state_path(out: str) -> str:
    """Where a run's resume state goes: checkpoints/runs/NAME.state.pt beside --out."""
    out_path = Path(out)
    return str(out_path.parent / "runs" / f"{out_path.name}.state.pt")


def _new_run(argv: list[str]) -> tuple[Trainer, dict[str, Any]]:
    args = build_parser(argv).parse_args(argv)
    model_name = models.resolve_name(args.model)
    model_class = models.MODEL_CLASSES[model_name]
    model_config = model_class.config_class(**{f.name: getattr(args, f.name)
                                               for f in dataclasses.fields(model_class.config_class)})
    train_config = TrainConfig(**{f.name: getattr(args, f.name)
                                  for f in dataclasses.fields(TrainConfig)
                                  if f.name not in ("checkpoint_path", "state_path")})
    # during the run only the resume state is written; --out gets the finished model
    train_config.checkpoint_path = None
    train_config.state_path = args.state or default_state_path(args.out)
    cli = {"out": args.out, "dataset": args.dataset, "eval_samples": args.eval_samples,
           "eval_limit": args.eval_limit, "half": args.half, "train_limit": args.train_limit,
           "quality_samples": args.quality_samples, "download": args.download,
           "command": "python -m explorer.train " + " ".join(shlex.quote(a) for a in argv)}
    torch.manual_seed(train_config.seed)
    model = models.build(model_name, model_config)
    card_base: dict[str, Any] = {"dataset": args.dataset, "command": cli["command"]}
    if args.init:
        try:
            card_base["initialised_from"] = warm_start(model, args.init)
        except checkpoints.CheckpointError as exc:
            build_parser(argv).error(str(exc))
    images, labels = _training_data(cli)
    trainer = Trainer(args.out, model, images, labels, train_config, card=card_base)
    return trainer, cli


def warm_start(model: torch.nn.Module, path: str) -> dict[str, Any]:
    """Copy a checkpoint's weights into `model` (a warm start: the caller's optimizer and
    schedule begin afresh). Returns what the new card cites: the checkpoint's path, command,
    steps, epochs and CPU core-hours (each with those of any warm start it came from in
    turn) and test metric. Raises CheckpointError when the file is
    unreadable or its model or config differ from `model`'s."""
    source, card = checkpoints.load(path, device="cpu")
    if type(source) is not type(model) or source.config != model.config:
        raise checkpoints.CheckpointError(
            f"--init {path} holds a {card.get('model')} with config {card.get('config')}, "
            f"not this run's {type(model).__name__} with {dataclasses.asdict(model.config)}.")
    with torch.no_grad():
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in source.state_dict().items()})
    metric = type(model).metric_name
    prior_hours = card.get("cpu_hours_total", card.get("cpu_hours"))
    earlier = (card.get("initialised_from") or {}).get("epochs") or 0.0
    epochs = None if card.get("epochs") is None else card["epochs"] + earlier
    return {"path": str(path), "command": card.get("command"), "steps": card.get("steps"),
            "epochs": epochs, "cpu_hours": prior_hours,
            metric: card.get(metric)}


def _resumed_run(argv: list[str]) -> tuple[Trainer, dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m explorer.train --resume",
                                     description="Continue a run exactly from its state file.")
    parser.add_argument("--resume", required=True, help="the run's .state.pt file")
    parser.add_argument("--epochs", type=float, default=None,
                        help="change the run's length (a wsd schedule decays over its last "
                             "decay_epochs, so lengthening is seamless until then)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        state = checkpoints.load_state(args.resume)
    except checkpoints.CheckpointError as exc:
        parser.error(str(exc))
    train_config = TrainConfig(**state["train_config"])
    if args.epochs is not None:
        train_config.epochs = args.epochs
    if args.threads is not None:
        train_config.threads = args.threads
    if args.max_steps is not None:
        train_config.max_steps = args.max_steps
    train_config.state_path = args.resume
    cli = dict(state["extra"]["cli"])
    model = models.build(state["model"], state["model_config"])
    images, labels = _training_data(cli)
    trainer = Trainer(state["name"], model, images, labels, train_config)
    trainer.load_training_state(state)
    trainer.extra_state = dict(state["extra"])
    resumes = list(trainer.extra_state.get("resumes", []))
    resumes.append("python -m explorer.train " + " ".join(shlex.quote(a) for a in argv))
    trainer.extra_state["resumes"] = resumes
    trainer.card_base["resumed_with"] = resumes
    return trainer, cli


def _training_data(cli: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    train = data.load(cli["dataset"], "train", allow_download=cli["download"])
    images, labels = train.images, train.labels
    if cli["train_limit"]:
        images, labels = images[:cli["train_limit"]], labels[:cli["train_limit"]]
    return images, labels


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train (or, with --resume, continue) a run; on completion evaluate it and write the
    checkpoint with its card. A run stopped by SIGTERM/SIGINT saves its state and returns
    {"state": "stopped", "resume": command} without evaluating."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a == "--resume" or a.startswith("--resume=") for a in argv):
        trainer, cli = _resumed_run(argv)
    else:
        trainer, cli = _new_run(argv)
    trainer.extra_state["cli"] = cli
    model_class = type(trainer.model)
    total = trainer.total_steps()
    trainer.add_callback(ProgressBar(total))
    _install_signal_handlers(trainer)
    sys.stderr.write(f"training {model_class.__name__} on {device_name(trainer.device)} "
                     f"from step {trainer.step} of {total}; state in "
                     f"{trainer.config.state_path}\n")
    trainer.run()
    resume = f"python -m explorer.train --resume {trainer.config.state_path}"
    if trainer.state == "stopped":
        sys.stderr.write(f"\nstopped at step {trainer.step}; continue with: {resume}\n")
        summary = {"out": cli["out"], "state": "stopped", "step": trainer.step,
                   "resume": resume}
        print(summary)
        return summary
    if trainer.state == "failed":
        sys.stderr.write(f"\ntraining failed: {trainer.reason}\n")
    model = trainer.averaged_model()
    if cli["half"]:  # evaluate exactly the weights that will be shipped
        with torch.no_grad():
            for tensor in model.state_dict().values():
                if tensor.is_floating_point():
                    tensor.copy_(tensor.half().float())
    test = data.load(cli["dataset"], "test")
    started = time.perf_counter()
    value, count = evaluate_model(model, test, cli["eval_samples"], cli["eval_limit"])
    extra = {model_class.metric_name: round(value, 4), "test_images": count,
             "test_metric_unit": model_class.metric_unit,
             "eval_samples": cli["eval_samples"] if model_class.metric_name == "test_nll_nats"
             else None, "eval_seconds": round(time.perf_counter() - started, 1),
             "state": trainer.state, "reason": trainer.reason}
    if model_class.metric_name == "test_nll_nats" and getattr(model.config, "likelihood", "") \
            == "bernoulli":
        extra["test_binarization"] = "fixed stochastic (seeded), dynamic during training"
    if cli.get("quality_samples"):
        extra.update(quality.card_entries(model, cli["quality_samples"]))
    trainer.save(cli["out"], extra=extra, half_precision=cli["half"])
    summary = {"out": cli["out"], model_class.metric_name: value, "n": count,
               "train_seconds": round(trainer.train_seconds, 1), "state": trainer.state}
    print(summary)
    return summary


if __name__ == "__main__":
    main()

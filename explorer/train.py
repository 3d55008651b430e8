"""Command line training: python -m explorer.train MODEL --dataset mnist --epochs N --out PATH.

Uses torch + numpy only, so it runs on a GPU box without streamlit. Model config fields
become flags (--latent-dim 16, --architecture conv, ...); the card records the exact
command, hardware, wall time and the test metric.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from typing import Any

import torch

from explorer import data, models
from explorer.device import device_name
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
        elif f.name == "max_steps" or f.name == "checkpoint_path" or f.name == "threads":
            parser.add_argument(flag, dest=prefix + f.name, default=None,
                                type=int if f.name != "checkpoint_path" else str)
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
    device = next(model.parameters()).device
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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    model_name = models.resolve_name(args.model)
    model_class = models.MODEL_CLASSES[model_name]
    model_config = model_class.config_class(**{f.name: getattr(args, f.name)
                                               for f in dataclasses.fields(model_class.config_class)})
    train_config = TrainConfig(**{f.name: getattr(args, f.name)
                                  for f in dataclasses.fields(TrainConfig)})
    train_config.checkpoint_path = args.out
    train = data.load(args.dataset, "train", allow_download=args.download)
    images, labels = train.images, train.labels
    if args.train_limit:
        images, labels = images[:args.train_limit], labels[:args.train_limit]
    torch.manual_seed(train_config.seed)
    model = models.build(model_name, model_config)
    command = "python -m explorer.train " + " ".join(shlex.quote(a) for a in argv)
    trainer = Trainer(args.out, model, images, labels, train_config,
                      card={"dataset": args.dataset, "command": command})
    steps = int(min(train_config.max_steps or 10**12,
                    -(-train_config.epochs * (len(images) // train_config.batch_size) // 1)))
    trainer.add_callback(ProgressBar(steps))
    sys.stderr.write(f"training {model_name} on {device_name(trainer.device)}\n")
    trainer.run()
    if trainer.state == "failed":
        sys.stderr.write(f"\ntraining failed: {trainer.reason}\n")
    if args.half:  # evaluate exactly the weights that will be shipped
        with torch.no_grad():
            for tensor in trainer.model.state_dict().values():
                if tensor.is_floating_point():
                    tensor.copy_(tensor.half().float())
    test = data.load(args.dataset, "test")
    started = time.perf_counter()
    value, count = evaluate_model(trainer.model, test, args.eval_samples, args.eval_limit)
    extra = {model_class.metric_name: round(value, 4), "test_images": count,
             "test_metric_unit": model_class.metric_unit,
             "eval_samples": args.eval_samples if model_class.metric_name == "test_nll_nats"
             else None, "eval_seconds": round(time.perf_counter() - started, 1),
             "state": trainer.state, "reason": trainer.reason}
    if model_class.metric_name == "test_nll_nats" and getattr(model_config, "likelihood", "") \
            == "bernoulli":
        extra["test_binarization"] = "fixed stochastic (seeded), dynamic during training"
    trainer.save(args.out, extra=extra, half_precision=args.half)
    summary = {"out": args.out, model_class.metric_name: value, "n": count,
               "train_seconds": round(trainer.train_seconds, 1), "state": trainer.state}
    print(summary)
    return summary


if __name__ == "__main__":
    main()

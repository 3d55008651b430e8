"""Where a running autoregressive training run stands: test bits/dim of its Polyak-averaged
weights (from its resume state) on the first N test images, given the class and without it,
and (with --samples K) the digit classifier's sample_class_accuracy on K samples per class at
T = 1, against its CPU hours. Appends a row to benchmarks/results/ar_progress.json, the curve the
README shows when a goal is still out of reach.

Run: python -m benchmarks.ar_progress checkpoints/runs/gated_pixelcnn_mnist.state.pt [--n 500]
     [--samples 5]
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from benchmarks.common import RESULTS, hardware
from explorer import checkpoints, data, models, quality
from explorer.training import core_hours


@torch.no_grad()
def bits_per_dim(model, images, labels) -> tuple[float, float]:
    given, none = [], []
    for start in range(0, len(images), 50):
        batch = images[start:start + 50]
        given.append(model.nll(batch, labels[start:start + 50]))
        none.append(model.nll(batch, None))
    dims = images[0].numel() * math.log(2)
    return float(torch.cat(given).mean()) / dims, float(torch.cat(none).mean()) / dims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("state")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=0,
                        help="samples per class for sample_class_accuracy (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    state = checkpoints.load_state(args.state)
    model = models.build(state["model"], state["model_config"])
    model.load_state_dict(state["weights"])
    if state["ema"] is not None:  # the averaged weights are what ships
        with torch.no_grad():
            for parameter, average in zip(model.parameters(), state["ema"]):
                parameter.copy_(average)
    model.eval()
    test = data.load("mnist", "test")
    given, none = bits_per_dim(model, test.images[:args.n], test.labels[:args.n])
    row = {"run": state["name"], "step": state["step"], "epoch": round(state["epoch"], 3),
           "cpu_hours": round(core_hours(state["segments"], state["train_seconds"]), 3),
           "test_bits_per_dim": round(given, 4), "test_bits_per_dim_without_class": round(none, 4),
           "test_images": args.n, "measured": time.strftime("%Y-%m-%d %H:%M")}
    if args.samples and getattr(model, "num_classes", 0):
        images, labels = quality.generate(model, args.samples, conditional=True)
        verdict = quality.judge(quality.load_classifier(), images, labels)
        row["sample_class_accuracy"] = round(verdict.class_accuracy, 3)
        row["samples_per_class"] = args.samples
    path = RESULTS / "ar_progress.json"
    table = json.loads(path.read_text()) if path.exists() else {"rows": []}
    table["rows"].append(row)
    table["hardware"] = hardware()
    table["what"] = __doc__.strip().splitlines()[0]
    path.write_text(json.dumps(table, indent=2) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()

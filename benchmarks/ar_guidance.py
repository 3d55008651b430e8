"""Classifier-free guidance against class fidelity: for each shipped class-conditional
autoregressive model and each guidance w, the digit classifier's sample_class_accuracy on K
samples per class (fixed seed, T = 1), the classifier's mean confidence, the samples' mean
-log2 p under the model's own conditional (bits/dim: how typical they stay), and seconds.
w = 0 is plain conditional sampling (the cards' headline figure, there on 20 per class).

Run: python -m benchmarks.ar_guidance [--samples 100] [--guidance 0 0.5 1 2] [--models ...]
     [--threads 2] [--append]
Writes benchmarks/results/ar_guidance.json. A proxy for sample quality, not a likelihood.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks.common import RESULTS, write_results
from explorer import checkpoints, quality

MODELS = ("pixel_transformer_mnist", "gated_pixelcnn_mnist")


@torch.no_grad()
def sweep(name: str, guidances: list[float], per_class: int, judge,
          done=lambda row: None) -> list[dict]:
    """One row per guidance w; `done(row)` is called as each is measured (the results file
    keeps every finished row, so a stopped run loses only the row it was on)."""
    model, card = checkpoints.load(f"checkpoints/{name}", device="cpu")
    rows = []
    for w in guidances:
        started = time.perf_counter()
        images, labels = quality.generate(model, per_class, True, 1.0, quality.QUALITY_SEED,
                                          guidance=w)
        seconds = time.perf_counter() - started
        verdict = quality.judge(judge, images, labels)
        bits = torch.cat([model.test_metric(images[i:i + 100], labels[i:i + 100])
                          for i in range(0, len(images), 100)])  # bits/dim per image
        rows.append({"model": name, "guidance": w, "samples_per_class": per_class,
                     "sample_class_accuracy": round(verdict.class_accuracy, 4),
                     "per_class_accuracy": [round(a, 3) for a in verdict.per_class_accuracy],
                     "digit_likeness": round(verdict.digit_likeness, 4),
                     "sample_bits_per_dim": round(float(bits.mean()), 4),
                     "seconds": round(seconds, 1), "threads": torch.get_num_threads(),
                     "measured": time.strftime("%Y-%m-%d %H:%M")})
        print(rows[-1], flush=True)
        done(rows[-1])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=100, help="samples per class")
    parser.add_argument("--guidance", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", default=None, help="JSON path (default: results/)")
    parser.add_argument("--append", action="store_true",
                        help="keep the output's other rows (same model, w and samples: "
                             "replaced)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    judge = quality.load_classifier()
    path = Path(args.output) if args.output else RESULTS / "ar_guidance.json"
    kept = json.loads(path.read_text())["rows"] if args.append and path.exists() else []
    measured: list[dict] = []

    def save(row: dict) -> None:  # after every row: the file holds all finished rows
        measured.append(row)
        new = {(r["model"], r["guidance"], r["samples_per_class"]) for r in measured}
        rows = [r for r in kept
                if (r["model"], r["guidance"], r.get("samples_per_class")) not in new]
        write_results("ar_guidance", {
            "what": "classifier-free guidance w: sample_class_accuracy (share of samples the "
                    "shipped classifier reads as the requested digit), mean classifier "
                    "confidence and the samples' bits/dim under the model's conditional, "
                    f"T = 1, seed {quality.QUALITY_SEED}", "rows": rows + measured}, path)

    for name in args.models:
        sweep(name, args.guidance, args.samples, judge, save)


if __name__ == "__main__":
    main()

"""Autoregressive sampling speed: interactive step latency (incl. the figure), whole-image
sampling naive vs fast path (batch 16) with the speedup from one run, and training
throughput. Writes benchmarks/results/ar_sampling.json.

Run: python -m benchmarks.ar_sampling [--checkpoint gated_pixelcnn_mnist] [--batch 16]
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.common import percentiles, write_results
from explorer import checkpoints, imaging, sampling
from explorer.device import model_device, pick_device
from explorer.figures import make_distribution_figure


def interactive_steps(model, steps: int) -> list[float]:
    sampler = sampling.PixelSampler(label=3, seed=0)
    timings = []
    for _ in range(steps):
        started = time.perf_counter()
        step = sampler.step(model)
        make_distribution_figure(step.probabilities, step.value, step.model_probabilities).to_json()
        imaging.sampling_canvas(sampler.image[0, 0].cpu().numpy(), sampler.position, scale=12)
        timings.append(1000 * (time.perf_counter() - started))
    return timings


def whole_images(model, batch: int, fast: bool) -> float:
    started = time.perf_counter()
    sampling.sample_images(model, batch, label=None, seed=0, fast=fast)
    if model_device(model).type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def training_throughput(model, device, batch: int = 64, steps: int = 5) -> float:
    model = model.train()
    optimizer = torch.optim.Adam(model.parameters())
    images = torch.randint(0, 256, (batch, 1, 28, 28), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, (batch,), device=device)
    for index in range(steps + 1):
        if index == 1:
            started = time.perf_counter()
        optimizer.zero_grad()
        model.training_loss(images, labels, {})["loss"].backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    model.eval()
    return batch * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default="gated_pixelcnn_mnist")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    results: dict = {"checkpoint": args.checkpoint, "batch": args.batch}
    for device in [torch.device("cpu")] + ([pick_device()] if pick_device().type != "cpu" else []):
        tag = "cpu" if device.type == "cpu" else "gpu"
        model, card = checkpoints.load(checkpoints.checkpoint_dir() / args.checkpoint,
                                       device=device)
        if tag == "cpu":
            step = percentiles(interactive_steps(model, args.steps))
            results.update({"step_p50_ms_cpu": step["p50_ms"], "step_p95_ms_cpu": step["p95_ms"],
                            "step_what": "one PixelSampler.step + distribution figure JSON + "
                                         "canvas PNG, batch 1"})
        naive = whole_images(model, args.batch, fast=False)
        fast = whole_images(model, args.batch, fast=True)
        results.update({f"naive_seconds_{tag}": round(naive, 2), f"fast_seconds_{tag}": round(fast, 2),
                        f"speedup_{tag}": round(naive / fast, 2)})
        torch.set_grad_enabled(True)
        results[f"train_images_per_s_{tag}"] = round(training_throughput(model, device), 1)
        torch.set_grad_enabled(False)
    results.setdefault("speedup_gpu", None)
    results["model"] = card["model"]
    results["config"] = card["config"]
    results["goals"] = {"step_p50_ms_cpu": 25, "speedup_cpu": 5, "fast_seconds_gpu": 1.0}
    write_results("ar_sampling", results)


if __name__ == "__main__":
    main()

"""Autoregressive training throughput on this machine, as ratios measured in one run:
float32 vs bf16 autocast, eager vs torch.compile, NCHW vs channels_last, 1 vs all threads,
and the cost of the data pipeline (uint8 tensors indexed in place vs a DataLoader).
Each variant trains the shipped gated PixelCNN's config for a fixed wall time after a
warm-up; the variants alternate over `--rounds` rounds and medians are reported.
Writes benchmarks/results/ar_training.json.

Run: python -m benchmarks.ar_training [--seconds 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from benchmarks.common import write_results
from explorer import checkpoints, data, models
from explorer.training import make_adam

VARIANTS = {  # name: (precision, channels_last, compile, threads: None = all cores)
    "float32 eager": ("float32", False, False, None),
    "float32 channels_last": ("float32", True, False, None),
    "bf16 eager": ("bfloat16", False, False, None),
    "bf16 channels_last": ("bfloat16", True, False, None),
    "bf16 channels_last compiled": ("bfloat16", True, True, None),
    "bf16 channels_last compiled, 1 thread": ("bfloat16", True, True, 1),
}


def shipped_config() -> dict:
    card = checkpoints.read_card(checkpoints.CHECKPOINT_DIR / "gated_pixelcnn_mnist")
    return card["config"]


def throughput(config: dict, images: torch.Tensor, labels: torch.Tensor, precision: str,
               channels_last: bool, compiled: bool, threads: int | None, seconds: float,
               batch: int = 32) -> float:
    """Images per second of full training steps (forward, backward, fused Adam)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or previous)
    try:
        torch.manual_seed(0)
        model = models.build("GatedPixelCNN", config).train()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        loss_fn = torch.compile(model.training_loss) if compiled else model.training_loss
        optimizer = make_adam(model.parameters(), 1e-3)
        order = torch.randperm(len(images))

        def step(index: int) -> None:
            chosen = order[(index * batch) % (len(images) - batch):][:batch]
            x, y = images[chosen], labels[chosen]
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
                loss = loss_fn(x, y, {})["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        for index in range(3):  # warm-up (and compilation)
            step(index)
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            step(count)
            count += 1
        return count * batch / (time.perf_counter() - started)
    finally:
        torch.set_num_threads(previous)


def loader_overhead(images: torch.Tensor, labels: torch.Tensor, batches: int = 2000) -> dict:
    """Milliseconds per batch to fetch 32 images: indexing uint8 tensors vs a DataLoader."""
    order = torch.randperm(len(images))
    started = time.perf_counter()
    for index in range(batches):
        chosen = order[(index * 32) % (len(images) - 32):][:32]
        images[chosen], labels[chosen]
    direct = 1000 * (time.perf_counter() - started) / batches
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels),
                                         batch_size=32, shuffle=True)
    started, seen = time.perf_counter(), 0
    for _ in loader:
        seen += 1
        if seen == batches:
            break
    return {"indexed_uint8_ms_per_batch": round(direct, 3),
            "dataloader_ms_per_batch": round(1000 * (time.perf_counter() - started) / seen, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    train = data.load("mnist", "train")
    config = shipped_config()
    measured: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, (precision, channels_last, compiled, threads) in VARIANTS.items():
            measured[name].append(throughput(config, train.images, train.labels, precision,
                                             channels_last, compiled, threads, args.seconds))
            print(name, round(measured[name][-1], 1), flush=True)
    medians = {name: round(statistics.median(values), 2) for name, values in measured.items()}
    base = medians["float32 eager"]
    results = {
        "config": config, "batch_size": 32, "seconds_per_measurement": args.seconds,
        "rounds": args.rounds, "images_per_second": medians,
        "speedup_vs_float32_eager": {name: round(v / base, 2) for name, v in medians.items()},
        "bf16_vs_float32": round(medians["bf16 eager"] / base, 2),
        "channels_last_vs_nchw_bf16": round(medians["bf16 channels_last"]
                                            / medians["bf16 eager"], 2),
        "compiled_vs_eager_bf16_channels_last": round(
            medians["bf16 channels_last compiled"] / medians["bf16 channels_last"], 2),
        "all_threads_vs_1": round(medians["bf16 channels_last compiled"]
                                  / medians["bf16 channels_last compiled, 1 thread"], 2),
        "cpu_has_avx512_bf16": "avx512_bf16" in open("/proc/cpuinfo").read(),
        "data_loading": loader_overhead(train.images, train.labels),
        "kept": "bf16 autocast + channels_last + torch.compile, uint8 tensors indexed in place",
        "gpu": "no GPU in this session: speedup_gpu not measured",
        "raw": {name: [round(v, 2) for v in values] for name, values in measured.items()},
    }
    write_results("ar_training", results)
    print(json.dumps(results["speedup_vs_float32_eager"], indent=2))


if __name__ == "__main__":
    main()

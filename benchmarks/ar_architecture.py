"""Which gated PixelCNN uses the class and the whole digit best for the same CPU time?

Trains each candidate for the same wall time (same threads, bf16 autocast, channels_last,
compiled), then measures on the first 1000 test images:
- bits/dim given the true class, and given the "none" class;
- the class gap: how many bits per image knowing the class saves (0 for a model that
  ignores the class; if the class-free mode were the exact mixture of the class modes it
  would be at most log2(10) = 3.32 bits, and beyond that it also says the class-free mode,
  trained on 10 % of the batches, is the weaker model);
- the vertical reach (rows above a pixel that can influence it).

Run one candidate per process (two in parallel, one thread each, on a 2-core machine):
  python -m benchmarks.ar_architecture NAME --seconds 900 --threads 1
Results accumulate in benchmarks/results/ar_architecture.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from benchmarks.common import RESULTS, hardware
from explorer import data, models
from explorer.training import TrainConfig, Trainer

BASE = {"channels": 64, "layers": 12, "head_channels": 256, "num_classes": 10}
CANDIDATES = {
    "plain_12": {**BASE},  # 3x3 stacks, no dilation
    "dilated_12": {**BASE, "dilation_cycle": 4},  # dilations 1, 2, 4, 8 repeating
    "plain_20": {**BASE, "layers": 20},  # more layers instead (1.6x the compute)
}


@torch.no_grad()
def class_gap(model, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    model.eval()
    given, none = [], []
    for start in range(0, len(images), 100):
        batch = images[start:start + 100]
        given.append(model.nll(batch, labels[start:start + 100]))
        none.append(model.nll(batch, None))
    given, none = torch.cat(given), torch.cat(none)
    dims = images[0].numel()
    return {"bits_per_dim_given_class": round(float(given.mean()) / (dims * math.log(2)), 4),
            "bits_per_dim_without_class": round(float(none.mean()) / (dims * math.log(2)), 4),
            "class_gap_bits_per_image": round(float((none - given).mean()) / math.log(2), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(CANDIDATES))
    parser.add_argument("--seconds", type=float, default=900)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--test-images", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train, test = data.load("mnist", "train"), data.load("mnist", "test")
    torch.manual_seed(0)
    model = models.build("GatedPixelCNN", CANDIDATES[args.name])
    config = TrainConfig(epochs=100, batch_size=32, learning_rate=1e-3, threads=args.threads,
                         precision="bfloat16", channels_last=True, compile=True,
                         warmup_steps=200)
    trainer = Trainer(args.name, model, train.images, train.labels, config)
    started = time.perf_counter()
    trainer.add_callback(lambda t, r: t.stop() if time.perf_counter() - started
                         > args.seconds else None)
    trainer.run()
    result = {"candidate": args.name, "config": CANDIDATES[args.name],
              "vertical_reach_rows": model.vertical_reach,
              "parameters": sum(p.numel() for p in model.parameters()),
              "steps": trainer.step, "images_seen": trainer.step * config.batch_size,
              "wall_seconds": round(time.perf_counter() - started, 1),
              "images_per_second": round(trainer.step * config.batch_size
                                         / max(trainer.train_seconds, 1e-9), 2),
              **class_gap(model, test.images[:args.test_images],
                          test.labels[:args.test_images]),
              "threads": args.threads, "hardware": hardware(),
              "measured": time.strftime("%Y-%m-%d %H:%M")}
    path = RESULTS / "ar_architecture.json"
    table = json.loads(path.read_text()) if path.exists() else {"runs": []}
    table["runs"] = [r for r in table["runs"] if r["candidate"] != args.name] + [result]
    table["method"] = __doc__.strip().splitlines()[0]
    path.write_text(json.dumps(table, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

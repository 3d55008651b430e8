"""Recompute a checkpoint's test metric: python -m explorer.evaluate PATH [--limit N].

Prints one JSON object {"checkpoint", "metric", "value", "n", ...} so that any card's
claim can be checked by anyone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from explorer import checkpoints, data
from explorer.train import evaluate_model


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m explorer.evaluate", description=__doc__)
    parser.add_argument("path", help="checkpoint path (with or without .pt/.json)")
    parser.add_argument("--limit", type=int, default=None, help="first N test images only")
    parser.add_argument("--samples", type=int, default=None,
                        help="importance samples per image (default: the card's, else 1000)")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps or auto")
    args = parser.parse_args(argv)
    try:
        model, card = checkpoints.load(args.path, device=args.device)
        test = data.load(card.get("dataset", "mnist"), "test")
    except (checkpoints.CheckpointError, data.DataError) as exc:
        print(json.dumps({"checkpoint": args.path, "error": str(exc)}))
        sys.exit(2)
    samples = args.samples or card.get("eval_samples") or 1000
    started = time.perf_counter()
    value, count = evaluate_model(model, test, samples, args.limit)
    result = {"checkpoint": args.path, "metric": model.metric_name, "value": round(value, 4),
              "n": count, "samples": samples if model.metric_name == "test_nll_nats" else None,
              "card_value": card.get(model.metric_name),
              "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

"""Recompute a checkpoint's claims: python -m explorer.evaluate PATH [--limit N] [--samples N].

Prints one JSON object so that any card's numbers can be checked by anyone:
- the test metric (bits/dim, nats or squared error) on the first --limit test images;
- with --samples N (N per class, fixed seed): the classifier's verdicts on generated images,
  `sample_class_accuracy` for class-conditional models and `digit_likeness` for every
  generator (see explorer/quality.py; a proxy, not a likelihood).
--write puts the sample-quality numbers on the card.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from explorer import checkpoints, data, quality
from explorer.train import evaluate_model


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m explorer.evaluate", description=__doc__)
    parser.add_argument("path", help="checkpoint path (with or without .pt/.json)")
    parser.add_argument("--limit", type=int, default=None, help="first N test images only")
    parser.add_argument("--importance-samples", type=int, default=None,
                        help="importance samples per image for VAEs (default: the card's, "
                             "else 1000)")
    parser.add_argument("--samples", type=int, default=0,
                        help="generated samples per class to judge with the digit classifier "
                             "(0: skip)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="sampling temperature for autoregressive models")
    parser.add_argument("--guidance", type=float, default=0.0,
                        help="classifier-free guidance w for class-conditional samples "
                             "(0: none); written under guided_sample_quality")
    parser.add_argument("--skip-metric", action="store_true",
                        help="judge samples only; do not recompute the test metric")
    parser.add_argument("--write", action="store_true",
                        help="write the sample-quality numbers onto the card")
    parser.add_argument("--classifier", default=None, help="judge checkpoint (default: the "
                                                           "shipped mnist_classifier)")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps or auto")
    args = parser.parse_args(argv)
    try:
        model, card = checkpoints.load(args.path, device=args.device)
        test = None if args.skip_metric else data.load(card.get("dataset", "mnist"), "test")
        judge = quality.load_classifier(args.classifier) if args.samples else None
    except (checkpoints.CheckpointError, data.DataError) as exc:
        print(json.dumps({"checkpoint": args.path, "error": str(exc)}))
        sys.exit(2)
    result: dict = {"checkpoint": args.path}
    if test is not None:
        samples = args.importance_samples or card.get("eval_samples") or 1000
        started = time.perf_counter()
        value, count = evaluate_model(model, test, samples, args.limit)
        result.update({"metric": model.metric_name, "value": round(value, 4), "n": count,
                       "samples": samples if model.metric_name == "test_nll_nats" else None,
                       "card_value": card.get(model.metric_name),
                       "seconds": round(time.perf_counter() - started, 1)})
    if judge is not None:
        started = time.perf_counter()
        try:
            entries = quality.card_entries(model, args.samples, judge, args.temperature,
                                           args.guidance)
        except (TypeError, ValueError) as exc:  # no generator, or bad guidance
            print(json.dumps({"checkpoint": args.path, "error": str(exc)}))
            sys.exit(2)
        result.update(entries)
        result["quality_seconds"] = round(time.perf_counter() - started, 1)
        result["card_quality"] = {k: card.get(k) for k in ("sample_class_accuracy",
                                                            "digit_likeness")}
        if args.write:
            checkpoints.update_card(args.path, entries)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

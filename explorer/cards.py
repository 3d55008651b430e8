"""The shipped checkpoints' cards as one Markdown table (the README's "Shipped checkpoints").

    python -m explorer.cards [FOLDER]

Reads every NAME.json beside a NAME.pt in FOLDER (default: the shipped checkpoints folder)
and prints one row per checkpoint: model, weights size (MB), test metric with its unit,
sample quality (classifier verdicts: a proxy, not a likelihood), epochs and CPU hours.
Numbers come from the cards only, so the table cannot drift from what ships.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from explorer import checkpoints
from explorer.training import core_hours

HEADER = ("| checkpoint | model | weights | test metric | sample quality (classifier) | "
          "epochs | CPU core-hours |\n| --- | --- | --- | --- | --- | --- | --- |")


def test_metric(card: dict[str, Any]) -> str:
    """The card's test metric with its unit and how many test images it covers."""
    images = card.get("test_images")
    on = f" ({images:,} test images)" if images else ""
    if card.get("test_bits_per_dim") is not None:
        return f"{card['test_bits_per_dim']:.3f} bits/dim{on}"
    if card.get("test_nll_nats") is not None:
        return f"{card['test_nll_nats']:.1f} nats NLL (IWAE k={card.get('eval_samples')}){on}"
    if card.get("test_accuracy") is not None:
        return f"{100 * card['test_accuracy']:.2f}% accuracy{on}"
    return "-"


def sample_quality(card: dict[str, Any]) -> str:
    """"class accuracy 0.93, digit-likeness 0.88 (20 per class)", or "-"."""
    parts = []
    if card.get("sample_class_accuracy") is not None:
        # 3 significant figures: 200 samples give steps of 0.005, and 0.795 as "0.80" read
        # as a goal of 0.80 met
        parts.append(f"class accuracy {card['sample_class_accuracy']:.3g}")
    if card.get("digit_likeness") is not None:
        parts.append(f"digit-likeness {card['digit_likeness']:.2f}")
    per_class = (card.get("sample_quality") or {}).get("samples_per_class")
    if parts and per_class:
        at = ", T = 1" if card.get("test_bits_per_dim") is not None else ""  # AR sampling
        drawn = (f"{per_class} per class" if card.get("sample_class_accuracy") is not None
                 else f"{10 * per_class} samples")  # unconditional: no class to count by
        parts[-1] += f" ({drawn}{at})"
    return ", ".join(parts) or "-"


def cpu_hours(card: dict[str, Any]) -> str:
    """CPU core-hours: from the card's stretches (wall time times threads), else its train
    time times its threads."""
    seconds = card.get("train_seconds")
    prior = (card.get("initialised_from") or {}).get("cpu_hours")
    if card.get("segments") and seconds is not None:
        own = core_hours(card["segments"], seconds)
        # a warm start counts the hours of the run it started from
        return f"{own:.2f}" if prior is None else f"{own + prior:.2f} ({prior:.2f} + {own:.2f})"
    if card.get("cpu_hours") is not None:
        return f"{card['cpu_hours']:.2f}"
    threads = (card.get("train_config") or {}).get("threads") or 1
    return f"{seconds * threads / 3600:.2f}" if seconds is not None else "-"


def table(folder: str | Path | None = None) -> str:
    """Markdown table of every checkpoint in `folder` (str). Raises FileNotFoundError when
    the folder does not exist."""
    root = Path(folder) if folder else checkpoints.checkpoint_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"no checkpoint folder at {root}")
    rows = [HEADER]
    for card_path in sorted(root.glob("*.json")):
        weights = card_path.with_suffix(".pt")
        if not weights.exists():
            continue
        card = json.loads(card_path.read_text())
        epochs = f"{card['epochs']:g}" if card.get("epochs") is not None else "-"
        before = (card.get("initialised_from") or {}).get("epochs")
        if before is not None and card.get("epochs") is not None:  # a warm start's total
            epochs = f"{before + card['epochs']:g} ({before:g} + {card['epochs']:g})"
        rows.append(f"| `{card_path.stem}` | {card.get('model', '?')} | "
                    f"{weights.stat().st_size / 1e6:.2f} MB | {test_metric(card)} | "
                    f"{sample_quality(card)} | {epochs} | {cpu_hours(card)} |")
    return "\n".join(rows)


if __name__ == "__main__":
    try:
        print(table(sys.argv[1] if len(sys.argv) > 1 else None))
    except FileNotFoundError as exc:
        sys.exit(str(exc))

"""Checkpoints: a torch state dict (NAME.pt) plus a JSON card (NAME.json), saved atomically.

Loading never unpickles code (torch.load(weights_only=True)) and turns every failure
(missing, truncated, corrupt, wrong shape, unknown model) into one CheckpointError.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer import models
from explorer.device import pick_device

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
CHECKPOINT_ENV_VAR = "EXPLORER_CHECKPOINTS"  # overrides CHECKPOINT_DIR (tests, other installs)
REQUIRED_CARD_KEYS = ("model", "config", "dataset", "epochs", "train_seconds", "hardware",
                      "command")


class CheckpointError(RuntimeError):
    """A checkpoint could not be saved or loaded; the message is fit to show a user."""


def _paths(path: str | Path) -> tuple[Path, Path]:
    """'checkpoints/vae16' or '.../vae16.pt' or '.../vae16.json' -> (weights, card) paths."""
    path = Path(path)
    if path.suffix in (".pt", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".pt"), path.with_name(path.name + ".json")


def _atomic_write(target: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600; use the usual file mode
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def all_finite(state: dict[str, Any]) -> bool:
    """True when every floating tensor in a (possibly nested) state dict is finite."""
    def finite(value: Any) -> bool:
        if isinstance(value, torch.Tensor):
            return not value.is_floating_point() or bool(torch.isfinite(value).all())
        if isinstance(value, dict):
            return all(finite(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return all(finite(v) for v in value)
        return True
    return finite(state)


def save(model: nn.Module, card: dict[str, Any], path: str | Path,
         half_precision: bool = False) -> Path:
    """Save weights and card atomically; returns the weights path.

    The card gets `model` and `config` filled from the model when absent.
    half_precision stores floating tensors as fp16 to keep shipped files small.
    Raises CheckpointError, and writes nothing, when a weight is NaN or infinite (also
    after rounding to fp16).
    """
    weights_path, card_path = _paths(path)
    card = dict(card)
    card.setdefault("model", type(model).__name__)
    card.setdefault("config", dataclasses.asdict(model.config))
    card["weights_dtype"] = "float16" if half_precision else "float32"
    state = {key: (value.detach().cpu().half() if half_precision and value.is_floating_point()
                   else value.detach().cpu().clone())
             for key, value in model.state_dict().items()}
    if not all_finite(state):
        raise CheckpointError(f"Refusing to save {weights_path.name}: some weights are NaN or "
                              "infinite" + (" in fp16" if half_precision else "") + ".")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _atomic_write(weights_path, buffer.getvalue())
    _atomic_write(card_path, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return weights_path


def update_card(path: str | Path, entries: dict[str, Any]) -> dict[str, Any]:
    """Merge entries into a checkpoint's card (atomically); returns the new card."""
    _, card_path = _paths(path)
    card = {**read_card(path), **entries}
    _atomic_write(card_path, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return card


def read_card(path: str | Path) -> dict[str, Any]:
    """The JSON card of a checkpoint; CheckpointError when missing or unreadable."""
    _, card_path = _paths(path)
    if not card_path.is_file():
        raise CheckpointError(f"No checkpoint card at {card_path}. Train one with "
                              "`python -m explorer.train` or pick another checkpoint.")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"The card {card_path.name} is not valid JSON ({exc}).") from exc
    if not isinstance(card, dict) or "model" not in card or "config" not in card:
        raise CheckpointError(f"The card {card_path.name} lacks the 'model' and 'config' keys.")
    return card


def load(path: str | Path, device: torch.device | str | None = None
         ) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model from its card, load the weights, return (model in eval mode, card)."""
    weights_path, card_path = _paths(path)
    card = read_card(path)
    try:
        model = models.build(card["model"], card["config"])
    except KeyError as exc:
        raise CheckpointError(f"{card_path.name} names an unknown model '{card['model']}'. "
                              f"Known: {', '.join(models.MODEL_CLASSES)}.") from exc
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{card_path.name} has a config this version cannot build: "
                              f"{exc}") from exc
    if not weights_path.is_file():
        raise CheckpointError(f"The weights file {weights_path} is missing.")
    state = _load_tensors(weights_path)
    if not isinstance(state, dict):
        raise CheckpointError(f"{weights_path.name} does not hold a state dict.")
    if not all_finite(state):
        raise CheckpointError(f"{weights_path.name} holds NaN or infinite weights; it was "
                              "saved from a diverged run. Retrain or restore it.")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"{weights_path.name} does not match the model its card "
                              f"describes ({first_line}).") from exc
    model.to(pick_device(device) if not isinstance(device, torch.device) else device)
    model.eval()
    return model, card


def _load_tensors(path: Path) -> Any:
    """torch.load(weights_only=True), every failure turned into a CheckpointError that says
    whether the file carries code (refused) or is damaged."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch names what it refused: a global (a function or class to call on load) is
        # code; an unknown opcode is a damaged or foreign file
        if "unsupported global" in str(exc).lower() or "unsupported class" in str(exc).lower():
            raise CheckpointError(
                f"{path.name} was refused: it carries pickled code or objects other than "
                "tensors, which could run on load. Only plain weight files are accepted."
            ) from exc
        raise CheckpointError(f"The weights file {path.name} is truncated or corrupt "
                              f"({type(exc).__name__}). Retrain or restore it.") from exc
    except Exception as exc:  # zip and EOF errors mean "unreadable"
        raise CheckpointError(f"The weights file {path.name} is truncated or corrupt "
                              f"({type(exc).__name__}). Retrain or restore it.") from exc


def save_state(state: dict[str, Any], path: str | Path) -> Path:
    """Atomically write a training run's resume state (fp32); CheckpointError when any
    weight in it is not finite."""
    path = Path(path)
    if not all_finite({k: state.get(k) for k in ("weights", "optimizer", "ema")}):
        raise CheckpointError(f"Refusing to save {path.name}: some weights are NaN or infinite.")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _atomic_write(path, buffer.getvalue())
    return path


def load_state(path: str | Path) -> dict[str, Any]:
    """Read a resume state written by save_state; CheckpointError when unreadable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No training state at {path}.")
    state = _load_tensors(path)
    if not isinstance(state, dict) or state.get("format") != "explorer-run-state-1":
        raise CheckpointError(f"{path.name} is not a training state file.")
    return state


USER_ENV_VAR = "EXPLORER_USER_CHECKPOINTS"  # where runs saved from the app go
NAME_PATTERN = r"[a-z0-9_\-]{1,40}"


def user_dir() -> Path:
    """Where checkpoints saved from the app go: $EXPLORER_USER_CHECKPOINTS, else
    ~/.cache/explorer/checkpoints (never the repository's shipped folder)."""
    return Path(os.environ.get(USER_ENV_VAR) or Path.home() / ".cache" / "explorer"
                / "checkpoints")


def user_save_path(name: str) -> Path:
    """The path for a new user checkpoint called `name`; CheckpointError when the name is
    not 1-40 of [a-z0-9_-] or is taken (nothing is ever overwritten silently)."""
    import re

    if not re.fullmatch(NAME_PATTERN, name or ""):
        raise CheckpointError("Use 1-40 lower-case letters, digits, - or _ for the name.")
    folder = user_dir()
    if (folder / f"{name}.json").exists() or (folder / f"{name}.pt").exists():
        free = next(f"{name}_{i}" for i in range(2, 10_000)
                    if not (folder / f"{name}_{i}.json").exists())
        raise CheckpointError(f"A checkpoint named '{name}' exists already; pick another name "
                              f"(for example '{free}').")
    return folder / name


def checkpoint_dir() -> Path:
    """The folder of shipped and saved checkpoints: $EXPLORER_CHECKPOINTS or checkpoints/."""
    return Path(os.environ.get(CHECKPOINT_ENV_VAR) or CHECKPOINT_DIR)


def available(folder: str | Path | None = None) -> list[dict[str, Any]]:
    """Cards of the checkpoints in a folder (default checkpoints/), each with `name`, `path`.

    Unreadable cards are listed with an `error` entry instead of being skipped silently.
    """
    folder = Path(folder) if folder else checkpoint_dir()
    cards = []
    for card_path in sorted(folder.glob("*.json")):
        entry: dict[str, Any] = {"name": card_path.stem, "path": str(card_path.with_suffix(""))}
        try:
            entry.update(read_card(card_path))
        except CheckpointError as exc:
            entry["error"] = str(exc)
        cards.append(entry)
    return cards


def metric_of(card: dict[str, Any]) -> tuple[str, float] | None:
    """The card's test metric (name, value), whichever of the known keys it holds."""
    for key in ("test_bits_per_dim", "test_nll_nats", "test_mse_per_image", "test_accuracy"):
        if key in card and card[key] is not None:
            return key, float(card[key])
    return None

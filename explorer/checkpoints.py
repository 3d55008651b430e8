"""Checkpoints: a torch state dict (NAME.pt) plus a JSON card (NAME.json), saved atomically.

Loading never unpickles code (torch.load(weights_only=True)) and turns every failure
(missing, truncated, corrupt, wrong shape, unknown model) into one CheckpointError.

Two folders:
- shipped: the repository's checkpoints/ (read-only for the app; $EXPLORER_SHIPPED_CHECKPOINTS
  points it elsewhere, which is how tests swap in tiny models);
- saved: what users save from the app (save_user), kept out of the repository in
  $EXPLORER_CHECKPOINTS, else ~/.cache/explorer/checkpoints. A save never overwrites an
  existing checkpoint unless asked to; the names are 1-40 of a-z, 0-9, _ and -.
available() lists the shipped ones first, then the saved ones, each marked with its source.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer import models
from explorer.device import pick_device

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"  # shipped ones
SHIPPED_ENV_VAR = "EXPLORER_SHIPPED_CHECKPOINTS"  # overrides CHECKPOINT_DIR (tests)
SAVED_ENV_VAR = "EXPLORER_CHECKPOINTS"  # where users' saves go
SAVED_DEFAULT_DIR = Path("~/.cache/explorer/checkpoints")  # when SAVED_ENV_VAR is unset
NAME_PATTERN = re.compile(r"[a-z0-9_\-]{1,40}")
SHIPPED, SAVED = "shipped", "saved"  # the `source` of an available() entry
REQUIRED_CARD_KEYS = ("model", "config", "dataset", "epochs", "train_seconds", "hardware",
                      "command")


class CheckpointError(RuntimeError):
    """A checkpoint could not be saved or loaded; the message is fit to show a user."""


class CheckpointExists(CheckpointError):
    """A save would overwrite an existing checkpoint; suggested_name is a free one."""

    def __init__(self, message: str, suggested_name: str | None = None) -> None:
        super().__init__(message)
        self.suggested_name = suggested_name


def _paths(path: str | Path) -> tuple[Path, Path]:
    """'checkpoints/vae16' or '.../vae16.pt' or '.../vae16.json' -> (weights, card) paths."""
    path = Path(path)
    if path.suffix in (".pt", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".pt"), path.with_name(path.name + ".json")


def _atomic_write(target: Path, data: bytes, overwrite: bool = True) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target.

    With overwrite=False the finished file is hard-linked to the target instead, which
    fails (FileExistsError) when the target exists, so two writers never both win.
    """
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
        if overwrite:
            os.replace(temporary, target)
            return
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system: check, then rename
            if target.exists():
                raise FileExistsError(target) from None
            os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


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
         half_precision: bool = False, overwrite: bool = True) -> Path:
    """Save weights and card atomically; returns the weights path.

    The card gets `model` and `config` filled from the model when absent.
    half_precision stores floating tensors as fp16 to keep shipped files small.
    Raises CheckpointError, and writes nothing, when a weight is NaN or infinite (also
    after rounding to fp16). With overwrite=False raises CheckpointExists, and writes
    nothing, when NAME.pt or NAME.json already exists (checked atomically, so of two
    concurrent saves under one name exactly one succeeds).
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
    card_bytes = (json.dumps(card, indent=2, sort_keys=True) + "\n").encode()
    if overwrite:
        _atomic_write(weights_path, buffer.getvalue())
        _atomic_write(card_path, card_bytes)
        return weights_path
    if card_path.exists():
        raise _exists(weights_path)
    try:
        _atomic_write(weights_path, buffer.getvalue(), overwrite=False)
    except FileExistsError:
        raise _exists(weights_path) from None
    try:
        _atomic_write(card_path, card_bytes, overwrite=False)
    except BaseException as exc:
        weights_path.unlink(missing_ok=True)  # ours: created just above
        if isinstance(exc, FileExistsError):
            raise _exists(weights_path) from None
        raise
    return weights_path


def _exists(weights_path: Path) -> CheckpointExists:
    name = weights_path.stem
    free = suggest_name(name, weights_path.parent) if NAME_PATTERN.fullmatch(name) else None
    hint = f" Pick another name (`{free}` is free)" if free else " Pick another name"
    return CheckpointExists(f"A checkpoint named `{name}` already exists in "
                            f"{weights_path.parent}.{hint}, or choose to overwrite it.", free)


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


def shipped_dir() -> Path:
    """The folder of shipped checkpoints: $EXPLORER_SHIPPED_CHECKPOINTS or checkpoints/."""
    return Path(os.environ.get(SHIPPED_ENV_VAR) or CHECKPOINT_DIR).expanduser()


def checkpoint_dir() -> Path:
    """The folder of shipped checkpoints (the name pages and benchmarks already use)."""
    return shipped_dir()


def saved_dir() -> Path:
    """The folder of users' saves: $EXPLORER_CHECKPOINTS, else ~/.cache/explorer/checkpoints.
    Not created here; save_user creates it on the first save."""
    return Path(os.environ.get(SAVED_ENV_VAR) or SAVED_DEFAULT_DIR).expanduser()


def check_name(name: str) -> str:
    """The name itself when it is 1-40 of a-z, 0-9, _ and - (a safe file name on every
    system, no path separators); CheckpointError otherwise."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise CheckpointError(f"Use 1-40 lower-case letters, digits, - or _ for the name; "
                              f"got {name!r}.")
    return name


def _taken(name: str, folders: tuple[Path, ...]) -> bool:
    return any((folder / f"{name}{suffix}").exists()
               for folder in folders for suffix in (".pt", ".json"))


def suggest_name(name: str, folder: str | Path | None = None) -> str:
    """A free name like `name_2` (then _3, ...), at most 40 characters, used neither in
    `folder` (default: the saved folder) nor among the shipped checkpoints."""
    folders = (Path(folder) if folder else saved_dir(), shipped_dir())
    base = re.sub(r"_\d+$", "", name) or "run"
    for number in range(2, 10_000):
        suffix = f"_{number}"
        candidate = base[:40 - len(suffix)] + suffix
        if not _taken(candidate, folders):
            return candidate
    raise CheckpointError("No free checkpoint name left; delete some saves.")


def saved_path(name: str, overwrite: bool = False) -> Path:
    """Where a user's save called `name` goes (saved_dir()/name, without suffix), after
    checking the name: CheckpointError for a bad name or a shipped checkpoint's name,
    CheckpointExists (with a suggested free name) when a save of that name exists and
    overwrite is False. The check is advisory; save(..., overwrite=False) is the atomic one.
    """
    check_name(name)
    if _taken(name, (shipped_dir(),)):
        raise CheckpointExists(f"`{name}` is the name of a shipped checkpoint. Pick another "
                               f"name (`{suggest_name(name)}` is free).", suggest_name(name))
    path = saved_dir() / name
    if not overwrite and _taken(name, (saved_dir(),)):
        raise _exists(path.with_name(name + ".pt"))
    return path


def save_user(model: nn.Module, card: dict[str, Any], name: str, overwrite: bool = False,
              half_precision: bool = False) -> Path:
    """Save a user's checkpoint as saved_dir()/name (.pt and .json); returns the weights
    path. Never replaces an existing save unless overwrite=True (CheckpointExists, with a
    suggested free name, otherwise); refuses bad names and shipped checkpoints' names."""
    path = saved_path(name, overwrite=overwrite)
    return save(model, card, path, half_precision=half_precision, overwrite=overwrite)


def locate(name: str) -> Path:
    """Path (without suffix, what load() takes) of the checkpoint called `name`: the
    shipped one when it exists, else the user's saved one when that exists, else where the
    shipped one would be (so load() reports it missing with the usual message)."""
    shipped = shipped_dir() / name
    if (shipped.with_name(name + ".json")).is_file():
        return shipped
    saved = saved_dir() / name
    if NAME_PATTERN.fullmatch(name) and saved.with_name(name + ".json").is_file():
        return saved
    return shipped


def _listing(folder: Path, source: str) -> list[dict[str, Any]]:
    cards = []
    for card_path in sorted(folder.glob("*.json")):
        entry: dict[str, Any] = {"name": card_path.stem, "source": source,
                                 "path": str(card_path.with_suffix("").resolve())}
        try:
            entry.update(read_card(card_path))
        except CheckpointError as exc:
            entry["error"] = str(exc)
        cards.append(entry)
    return cards


def listing_stamp() -> tuple:
    """What available() depends on: each checkpoint folder with its modification time in ns
    (None when absent). A save, a rename or a deletion in either folder changes it (saves
    replace files atomically, by rename), so a cache keyed by it is never stale."""
    stamp = []
    for folder in (shipped_dir(), saved_dir()):
        try:
            stamp.append((str(folder), folder.stat().st_mtime_ns))
        except OSError:
            stamp.append((str(folder), None))
    return tuple(stamp)


def available(folder: str | Path | None = None) -> list[dict[str, Any]]:
    """Cards of the shipped checkpoints (sorted by name), then of the saved ones, each
    with `name`, `source` ("shipped" or "saved") and `path` (absolute, without suffix:
    what load() takes). With `folder`, only that folder's cards (source "shipped" when
    it is the shipped folder, else "saved").

    Unreadable cards are listed with an `error` entry instead of being skipped silently.
    """
    shipped = shipped_dir()
    if folder is not None:
        folder = Path(folder)
        same = folder.resolve() == shipped.resolve()
        return _listing(folder, SHIPPED if same else SAVED)
    cards = _listing(shipped, SHIPPED)
    if saved_dir().resolve() != shipped.resolve():
        cards += _listing(saved_dir(), SAVED)
    return cards


def metric_of(card: dict[str, Any]) -> tuple[str, float] | None:
    """The card's test metric (name, value), whichever of the known keys it holds."""
    for key in ("test_bits_per_dim", "test_nll_nats", "test_mse_per_image", "test_accuracy"):
        if key in card and card[key] is not None:
            return key, float(card[key])
    return None

"""MNIST and Fashion-MNIST as uint8 tensors, found on disk or downloaded with checksums.

Search order for a data root: $EXPLORER_DATA, <repo>/../shared/data, ~/.cache/explorer.
With $EXPLORER_DATA_ONLY=1 only $EXPLORER_DATA is searched (none when it is unset): how a
test or a lecturer sees what a fresh clone without data shows, e.g.
`EXPLORER_DATA=/tmp/empty EXPLORER_DATA_ONLY=1 python -m pytest tests/browser`.
Each data set lives in its own sub-folder (mnist/, fashion_mnist/) as the four standard
IDX .gz files. Checksums are verified on load; a missing or corrupt file raises DataError.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import sys
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch

DATA_ENV_VAR = "EXPLORER_DATA"
DATA_ONLY_ENV_VAR = "EXPLORER_DATA_ONLY"  # "1": search $EXPLORER_DATA alone
REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049


class DataError(RuntimeError):
    """A data set is missing or corrupt; the message says where we looked and what to do."""


@dataclass(frozen=True)
class IdxFile:
    name: str  # file name inside the data set folder
    raw_md5: str | None = None  # md5 of the uncompressed bytes (MNIST: matches the original)
    gz_md5: str | None = None  # md5 of the .gz as published (Fashion-MNIST publishes these)


@dataclass(frozen=True)
class DatasetSpec:
    key: str  # folder name under a data root
    title: str
    mirrors: tuple[str, ...]  # base URLs tried in order when downloading
    files: dict[str, IdxFile]  # role ("train_images", ...) -> file
    class_names: tuple[str, ...]
    credit: str


MNIST = DatasetSpec(
    key="mnist",
    title="MNIST",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    files={
        "train_images": IdxFile("train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb"),
        "train_labels": IdxFile("train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624"),
        "test_images": IdxFile("t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea"),
        "test_labels": IdxFile("t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637"),
    },
    class_names=tuple(str(d) for d in range(10)),
    credit="MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0",
)

FASHION_MNIST = DatasetSpec(
    key="fashion_mnist",
    title="Fashion-MNIST",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    files={
        "train_images": IdxFile("train-images-idx3-ubyte.gz", gz_md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        "train_labels": IdxFile("train-labels-idx1-ubyte.gz", gz_md5="25c81989df183df01b3e8a0aad5dffbe"),
        "test_images": IdxFile("t10k-images-idx3-ubyte.gz", gz_md5="bef4ecab320f06d8554ea6380940ec79"),
        "test_labels": IdxFile("t10k-labels-idx1-ubyte.gz", gz_md5="bb300cfdad3c16e7a12a480ee83cd310"),
    },
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    credit="Fashion-MNIST (Xiao, Rasul, Vollgraf, Zalando), MIT licence",
)

DATASETS = {spec.key: spec for spec in (MNIST, FASHION_MNIST)}


@dataclass
class Split:
    images: torch.Tensor  # (N, 1, 28, 28) uint8, grey levels 0..255
    labels: torch.Tensor  # (N,) int64, class 0..9


def data_roots() -> list[Path]:
    """Folders searched for data sets, in order ($EXPLORER_DATA alone when
    $EXPLORER_DATA_ONLY is 1)."""
    roots = []
    if os.environ.get(DATA_ENV_VAR):
        roots.append(Path(os.environ[DATA_ENV_VAR]).expanduser())
    if os.environ.get(DATA_ONLY_ENV_VAR) == "1":
        return roots
    roots.append(REPO_ROOT.parent / "shared" / "data")
    roots.append(Path.home() / ".cache" / "explorer")
    return roots


def parse_idx(raw: bytes, expected_magic: int) -> np.ndarray:
    """Parse uncompressed IDX bytes (big-endian header) into a uint8 array."""
    if len(raw) < 8:
        raise DataError(f"IDX data too short ({len(raw)} bytes)")
    magic, count = struct.unpack(">II", raw[:8])
    if magic != expected_magic:
        raise DataError(f"IDX magic number {magic}, expected {expected_magic}")
    if magic == IMAGE_MAGIC:
        if len(raw) < 16:
            raise DataError("IDX image header truncated")
        rows, cols = struct.unpack(">II", raw[8:16])
        shape, offset = (count, rows, cols), 16
    else:
        shape, offset = (count,), 8
    expected = int(np.prod(shape))
    body = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if body.size != expected:
        raise DataError(f"IDX body has {body.size} bytes, header promises {expected}")
    return body.reshape(shape)


def _read_verified(path: Path, spec: IdxFile) -> bytes:
    """Decompress a .gz IDX file and check its md5; raise DataError on any mismatch."""
    try:
        packed = path.read_bytes()
        raw = gzip.decompress(packed)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path} is unreadable or not valid gzip ({exc}). Delete it and "
                        "download again.") from exc
    if spec.raw_md5 and hashlib.md5(raw).hexdigest() != spec.raw_md5:
        raise DataError(f"Checksum mismatch for {path}: the file is corrupt or not the "
                        "published one. Delete it and download again.")
    if spec.gz_md5 and not spec.raw_md5 and hashlib.md5(packed).hexdigest() != spec.gz_md5:
        raise DataError(f"Checksum mismatch for {path}: the file is corrupt or not the "
                        "published one. Delete it and download again.")
    return raw


def find_dataset_dir(spec: DatasetSpec) -> Path | None:
    """First data root whose sub-folder holds all four files, or None."""
    for root in data_roots():
        folder = root / spec.key
        if all((folder / f.name).is_file() for f in spec.files.values()):
            return folder
    return None


def _missing_message(spec: DatasetSpec) -> str:
    looked = ", ".join(str(root / spec.key) for root in data_roots())
    return (f"{spec.title} was not found (looked in: {looked}). Put the four IDX .gz files "
            f"in one of those folders, set ${DATA_ENV_VAR} to a folder holding "
            f"'{spec.key}/', or download it (about 11 MB, checksums verified) with "
            f"`python -m explorer.data download {spec.key}`.")


def download(name: str = "mnist", target_root: Path | None = None,
             progress: Callable[[str, int, int], None] | None = None) -> Path:
    """Download a data set into target_root/<key>/ (default ~/.cache/explorer), verified.

    progress(file_name, bytes_done, bytes_total) is called as bytes arrive.
    """
    spec = _spec(name)
    folder = (target_root or Path.home() / ".cache" / "explorer") / spec.key
    folder.mkdir(parents=True, exist_ok=True)
    for idx_file in spec.files.values():
        destination = folder / idx_file.name
        if destination.is_file():
            try:
                _read_verified(destination, idx_file)
                continue
            except DataError:
                destination.unlink()
        errors = []
        for mirror in spec.mirrors:
            try:
                _fetch(mirror + idx_file.name, destination, progress)
                _read_verified(destination, idx_file)
                break
            except (OSError, DataError) as exc:
                errors.append(f"{mirror}: {exc}")
                destination.unlink(missing_ok=True)
        else:
            raise DataError(f"Could not download {idx_file.name}: " + "; ".join(errors))
    return folder


def _fetch(url: str, destination: Path, progress: Callable[[str, int, int], None] | None) -> None:
    temporary = destination.with_suffix(destination.suffix + ".part")
    with urllib.request.urlopen(url, timeout=30) as response, open(temporary, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(1 << 16):
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(destination.name, done, total)
    os.replace(temporary, destination)


def _spec(name: str) -> DatasetSpec:
    key = name.lower().replace("-", "_")
    if key not in DATASETS:
        raise DataError(f"Unknown data set '{name}'. Known: {', '.join(DATASETS)}")
    return DATASETS[key]


@lru_cache(maxsize=4)
def _load_arrays(key: str, split: str, folder: str) -> tuple[np.ndarray, np.ndarray]:
    spec = DATASETS[key]
    images = parse_idx(_read_verified(Path(folder) / spec.files[f"{split}_images"].name,
                                      spec.files[f"{split}_images"]), IMAGE_MAGIC)
    labels = parse_idx(_read_verified(Path(folder) / spec.files[f"{split}_labels"].name,
                                      spec.files[f"{split}_labels"]), LABEL_MAGIC)
    if len(images) != len(labels):
        raise DataError(f"{spec.title} {split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def load(name: str = "mnist", split: str = "train", allow_download: bool = False) -> Split:
    """Load a split ("train" or "test") as uint8 images (N, 1, 28, 28) and int64 labels.

    Raises DataError when the files are missing (after an optional download) or corrupt.
    """
    spec = _spec(name)
    if split not in ("train", "test"):
        raise DataError(f"Unknown split '{split}': use 'train' or 'test'")
    folder = find_dataset_dir(spec)
    if folder is None and allow_download:
        try:
            folder = download(spec.key, progress=_print_progress)
        except DataError as exc:
            raise DataError(f"{_missing_message(spec)} Download failed: {exc}") from exc
    if folder is None:
        raise DataError(_missing_message(spec))
    images, labels = _load_arrays(spec.key, split, str(folder))
    return Split(images=torch.from_numpy(images.copy()).unsqueeze(1),
                 labels=torch.from_numpy(labels.astype(np.int64)))


def is_available(name: str = "mnist") -> bool:
    """True when all files of the data set are on disk (checksums are checked on load)."""
    return find_dataset_dir(_spec(name)) is not None


def _print_progress(file_name: str, done: int, total: int) -> None:
    if total:
        sys.stderr.write(f"\rdownloading {file_name}: {100 * done // total:3d}%")
        if done >= total:
            sys.stderr.write("\n")


def main(argv: list[str] | None = None) -> int:
    """python -m explorer.data download mnist [--to FOLDER]: fetch a data set, verified."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m explorer.data", description=main.__doc__)
    parser.add_argument("command", choices=["download"])
    parser.add_argument("name", choices=sorted(DATASETS))
    parser.add_argument("--to", type=Path, default=None,
                        help="data root (default ~/.cache/explorer, searched by the app)")
    args = parser.parse_args(argv)
    try:
        folder = download(args.name, args.to, progress=_print_progress)
    except DataError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{DATASETS[args.name].title} is in {folder} (checksums verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

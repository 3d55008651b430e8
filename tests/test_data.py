import gzip
import hashlib
import struct

import numpy as np
import pytest

from explorer import data, synthetic
from tests.conftest import requires_mnist


def idx_images(array: np.ndarray) -> bytes:
    count, rows, cols = array.shape
    return struct.pack(">IIII", data.IMAGE_MAGIC, count, rows, cols) + array.tobytes()


def idx_labels(array: np.ndarray) -> bytes:
    return struct.pack(">II", data.LABEL_MAGIC, len(array)) + array.tobytes()


def test_parse_idx_images_and_labels():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    parsed = data.parse_idx(idx_images(images), data.IMAGE_MAGIC)
    assert parsed.shape == (2, 3, 4) and (parsed == images).all()
    labels = np.array([3, 1, 4], dtype=np.uint8)
    assert (data.parse_idx(idx_labels(labels), data.LABEL_MAGIC) == labels).all()


@pytest.mark.parametrize("raw, magic", [
    (b"\x00\x00", data.LABEL_MAGIC),
    (struct.pack(">II", 1234, 1) + b"\x00", data.LABEL_MAGIC),
    (struct.pack(">II", data.LABEL_MAGIC, 5) + b"\x00", data.LABEL_MAGIC),
])
def test_parse_idx_rejects_bad_bytes(raw, magic):
    with pytest.raises(data.DataError):
        data.parse_idx(raw, magic)


def _write_fake_dataset(folder, images, labels, spec):
    folder.mkdir(parents=True)
    payloads = {"train_images": idx_images(images), "train_labels": idx_labels(labels),
                "test_images": idx_images(images), "test_labels": idx_labels(labels)}
    for role, payload in payloads.items():
        (folder / spec.files[role].name).write_bytes(gzip.compress(payload))
    return payloads


def test_checksum_mismatch_raises_data_error(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path))
    monkeypatch.setattr(data, "data_roots", lambda: [tmp_path])
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    _write_fake_dataset(tmp_path / "mnist", images, np.zeros(2, dtype=np.uint8), data.MNIST)
    data._load_arrays.cache_clear()
    with pytest.raises(data.DataError, match="Checksum mismatch"):
        data.load("mnist", "test")


def test_valid_checksums_load(tmp_path, monkeypatch):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    labels = np.array([1, 2, 3], dtype=np.uint8)
    payloads = {"train_images": idx_images(images), "train_labels": idx_labels(labels),
                "test_images": idx_images(images), "test_labels": idx_labels(labels)}
    spec = data.DatasetSpec(
        key="toy", title="Toy", mirrors=(), class_names=(), credit="",
        files={role: data.IdxFile(data.MNIST.files[role].name,
                                  hashlib.md5(payload).hexdigest())
               for role, payload in payloads.items()})
    monkeypatch.setitem(data.DATASETS, "toy", spec)
    monkeypatch.setattr(data, "data_roots", lambda: [tmp_path])
    _write_fake_dataset(tmp_path / "toy", images, labels, spec)
    split = data.load("toy", "train")
    assert split.images.shape == (3, 1, 28, 28) and split.images.dtype.is_floating_point is False
    assert split.labels.tolist() == [1, 2, 3]
    assert (split.images[:, 0].numpy() == images).all()


def test_corrupt_gzip_raises_data_error(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "data_roots", lambda: [tmp_path])
    folder = tmp_path / "mnist"
    folder.mkdir()
    for spec in data.MNIST.files.values():
        (folder / spec.name).write_bytes(b"not gzip at all")
    data._load_arrays.cache_clear()
    with pytest.raises(data.DataError, match="not valid gzip"):
        data.load("mnist", "train")


def test_missing_data_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "data_roots", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(data.DataError) as error:
        data.load("fashion_mnist", "test")
    message = str(error.value)
    assert str(tmp_path / "a" / "fashion_mnist") in message and "download" in message


def test_unknown_dataset_and_split():
    with pytest.raises(data.DataError):
        data.load("cifar", "train")
    with pytest.raises(data.DataError):
        data.load("mnist", "validation")


def test_search_order_starts_with_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path))
    monkeypatch.delenv(data.DATA_ONLY_ENV_VAR, raising=False)
    roots = data.data_roots()
    assert roots[0] == tmp_path and roots[-1].name == "explorer"


def test_data_only_hides_the_shared_and_cache_roots(monkeypatch, tmp_path):
    """$EXPLORER_DATA_ONLY=1 makes a machine that has MNIST look like a fresh clone."""
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path))
    monkeypatch.setenv(data.DATA_ONLY_ENV_VAR, "1")
    assert data.data_roots() == [tmp_path]
    assert not data.is_available("mnist")
    with pytest.raises(data.DataError, match=str(tmp_path)):
        data.load("mnist", "test")
    monkeypatch.delenv(data.DATA_ENV_VAR)
    assert data.data_roots() == []


@requires_mnist
def test_real_mnist_test_split():
    split = data.load("mnist", "test")
    assert split.images.shape == (10000, 1, 28, 28)
    assert split.labels[:5].tolist() == [7, 2, 1, 0, 4]


@pytest.mark.parametrize("name", sorted(synthetic.DENSITIES_1D))
def test_1d_mixtures_integrate_to_one(name):
    density = synthetic.DENSITIES_1D[name]
    xs = np.linspace(-30, 30, 60001)
    area = np.trapezoid(np.exp(density.log_density(xs)), xs)
    assert area == pytest.approx(1.0, abs=1e-4)
    assert density.sample(50, seed=1).shape == (50,)


@pytest.mark.parametrize("name", synthetic.TOY_2D_NAMES)
def test_2d_sets_shapes_and_seed(name):
    points, labels = synthetic.sample_2d(name, 100, seed=3)
    again, _ = synthetic.sample_2d(name, 100, seed=3)
    assert points.shape == (100, 2) and labels.shape == (100,)
    assert np.array_equal(points, again)


def test_2d_unknown_name():
    with pytest.raises(ValueError):
        synthetic.sample_2d("spiral-of-doom", 10)


def test_download_command_line_reports_failure_without_network(tmp_path, monkeypatch, capsys):
    from explorer import data

    def offline(url, destination, progress):
        raise OSError("no network here")

    monkeypatch.setattr(data, "_fetch", offline)
    assert data.main(["download", "mnist", "--to", str(tmp_path)]) == 1
    assert "Could not download" in capsys.readouterr().err
    assert not list((tmp_path / "mnist").glob("*.gz"))  # nothing half-written is left

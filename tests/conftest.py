"""Shared fixtures: tiny seeded models and generated uint8 images, so tests run fast on CPU."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("EXPLORER_DEVICE", "cpu")
torch.set_num_threads(1)
# the suite never writes into the user's own run store or saved checkpoints
_SCRATCH = tempfile.mkdtemp(prefix="explorer-tests-")
os.environ.setdefault("EXPLORER_RUNS", os.path.join(_SCRATCH, "runs"))

from explorer import data  # noqa: E402

requires_mnist = pytest.mark.skipif(
    not data.is_available("mnist"),
    reason="MNIST not found (looked in " + ", ".join(str(r) for r in data.data_roots())
    + "; set EXPLORER_DATA or put the IDX files in ../shared/data/mnist)")


@pytest.fixture
def fake_images() -> torch.Tensor:
    """64 blob-like uint8 digits (N, 1, 28, 28): a bright disc at a random spot."""
    generator = torch.Generator().manual_seed(0)
    ys, xs = torch.meshgrid(torch.arange(28), torch.arange(28), indexing="ij")
    centres = torch.randint(8, 20, (64, 2), generator=generator)
    distance = (ys - centres[:, 0, None, None]) ** 2 + (xs - centres[:, 1, None, None]) ** 2
    return (255 * (distance < 25)).to(torch.uint8).unsqueeze(1)


@pytest.fixture
def fake_labels() -> torch.Tensor:
    return torch.arange(64) % 10


def _card(metric: str) -> dict:
    return {"dataset": "generated", "epochs": 0, "train_seconds": 0.0, "hardware": "test",
            "command": "tests/conftest.py", metric: 1.0, "eval_samples": 1}


@pytest.fixture(scope="session")
def tiny_checkpoint_dir(tmp_path_factory) -> Path:
    """Untrained tiny stand-ins for the shipped latent-model checkpoints."""
    from explorer import checkpoints
    from explorer.models.autoencoder import Autoencoder, AutoencoderConfig
    from explorer.models.vae import VAE, VAEConfig

    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    checkpoints.save(VAE(VAEConfig(latent_dim=4, hidden=16)), _card("test_nll_nats"),
                     folder / "vae16_mnist")
    checkpoints.save(VAE(VAEConfig(latent_dim=2, hidden=16)), _card("test_nll_nats"),
                     folder / "vae2_mnist")
    checkpoints.save(Autoencoder(AutoencoderConfig(latent_dim=4, hidden=16)),
                     _card("test_mse_per_image"), folder / "ae16_mnist")
    from explorer.models import build
    checkpoints.save(build("GatedPixelCNN", {"channels": 8, "layers": 3, "head_channels": 16}),
                     _card("test_bits_per_dim"), folder / "gated_pixelcnn_mnist")
    checkpoints.save(build("MaskedPixelCNN", {"channels": 8, "layers": 2, "head_channels": 16}),
                     _card("test_bits_per_dim"), folder / "masked_pixelcnn_mnist")
    return folder


@pytest.fixture
def use_tiny_checkpoints(tiny_checkpoint_dir, monkeypatch) -> Path:
    """The tiny models stand in for the shipped checkpoints ($EXPLORER_SHIPPED_CHECKPOINTS)."""
    monkeypatch.setenv("EXPLORER_SHIPPED_CHECKPOINTS", str(tiny_checkpoint_dir))
    return tiny_checkpoint_dir


def wait_until(condition, timeout: float = 60.0, every: float = 0.1):
    """Poll `condition` until it returns something truthy (returned) or fail after timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s")


def kill_workers(runs) -> None:
    """Kill every worker process a LabRuns handle knows of (tests never leave one behind)."""
    for status in runs.runs():
        if status.pid:
            try:
                os.kill(status.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="session", autouse=True)
def saved_checkpoints_in_a_temporary_folder(tmp_path_factory) -> Path:
    """Users' saves ($EXPLORER_CHECKPOINTS) go to a fresh folder for the whole session, so
    tests never read or write the real ~/.cache/explorer/checkpoints. Tests that save
    should still use their own tmp_path (monkeypatch.setenv) to stay independent."""
    folder = tmp_path_factory.mktemp("saved_checkpoints")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPLORER_CHECKPOINTS", str(folder))
        yield folder

import torch

from explorer import device
from explorer.device import background_training_threads, device_name, pick_device


def test_env_override_and_fallback(monkeypatch):
    monkeypatch.setenv("EXPLORER_DEVICE", "cpu")
    assert pick_device().type == "cpu"
    if not torch.cuda.is_available():
        assert pick_device("cuda").type == "cpu"  # absent device falls back, no crash
    assert pick_device("nonsense-device").type == "cpu"


def test_auto_picks_something_usable(monkeypatch):
    monkeypatch.delenv("EXPLORER_DEVICE", raising=False)
    device = pick_device("auto")
    torch.zeros(1, device=device)
    expected = "cuda" if torch.cuda.is_available() else None
    if expected:
        assert device.type == expected


def test_cpu_name_mentions_threads():
    name = device_name(torch.device("cpu"))
    assert name.startswith("CPU: ") and name.endswith((" threads)", " thread)"))
    assert device_name(torch.device("cpu"), threads=7).endswith("(7 threads)")
    assert device_name(torch.device("cpu"), threads=1).endswith("(1 thread)")


def test_background_training_leaves_one_core(monkeypatch):
    monkeypatch.delenv("EXPLORER_TRAIN_THREADS", raising=False)
    monkeypatch.setattr(device, "DEFAULT_THREADS", 8)
    assert background_training_threads() == 7
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)  # a run changed the count: no drift
    assert background_training_threads() == 7
    monkeypatch.setattr(device, "DEFAULT_THREADS", 1)
    assert background_training_threads() == 1
    monkeypatch.setenv("EXPLORER_TRAIN_THREADS", "3")
    assert background_training_threads() == 3
    monkeypatch.setenv("EXPLORER_TRAIN_THREADS", "zero")
    assert background_training_threads() == 1

import torch

from explorer.device import device_name, pick_device


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
    assert name.startswith("CPU: ") and name.endswith(" threads)")

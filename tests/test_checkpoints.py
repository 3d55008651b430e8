import json

import pytest
import torch

from explorer import checkpoints
from explorer.models.vae import VAE, VAEConfig


def tiny_vae(**overrides) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=3, hidden=16, **overrides))


def test_round_trip_is_bit_identical(tmp_path):
    model = tiny_vae()
    card = {"dataset": "generated", "epochs": 0, "train_seconds": 0.0, "hardware": "cpu",
            "command": "test", "test_nll_nats": 1.0}
    checkpoints.save(model, card, tmp_path / "m")
    loaded, loaded_card = checkpoints.load(tmp_path / "m", device="cpu")
    assert not loaded.training
    assert loaded_card["model"] == "VAE" and loaded_card["config"]["latent_dim"] == 3
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    assert list(tmp_path.iterdir()) and not list(tmp_path.glob("*.tmp"))


def test_half_precision_is_smaller_and_close(tmp_path):
    model = tiny_vae()
    full = checkpoints.save(model, {}, tmp_path / "full")
    half = checkpoints.save(model, {}, tmp_path / "half", half_precision=True)
    assert half.stat().st_size < full.stat().st_size
    loaded, card = checkpoints.load(tmp_path / "half", device="cpu")
    assert card["weights_dtype"] == "float16"
    weight = loaded.encoder[1].weight
    assert weight.dtype == torch.float32
    assert torch.allclose(weight, model.encoder[1].weight, atol=1e-3)


def test_truncated_weights_raise(tmp_path):
    checkpoints.save(tiny_vae(), {}, tmp_path / "m")
    weights = tmp_path / "m.pt"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(checkpoints.CheckpointError, match="truncated or corrupt"):
        checkpoints.load(tmp_path / "m", device="cpu")


def test_wrong_shape_raises(tmp_path):
    checkpoints.save(tiny_vae(), {}, tmp_path / "m")
    card = json.loads((tmp_path / "m.json").read_text())
    card["config"]["hidden"] = 32
    (tmp_path / "m.json").write_text(json.dumps(card))
    with pytest.raises(checkpoints.CheckpointError, match="does not match"):
        checkpoints.load(tmp_path / "m", device="cpu")


@pytest.mark.parametrize("change, message", [
    ({"model": "GAN9000"}, "unknown model"),
    ({"config": {"latent_dim": 3, "hidden": 16, "flux_capacitor": 1}}, "cannot build"),
    ({"config": {"latent_dim": 0}}, "cannot build"),
])
def test_bad_cards_raise(tmp_path, change, message):
    checkpoints.save(tiny_vae(), {}, tmp_path / "m")
    card = json.loads((tmp_path / "m.json").read_text())
    card.update(change)
    (tmp_path / "m.json").write_text(json.dumps(card))
    with pytest.raises(checkpoints.CheckpointError, match=message):
        checkpoints.load(tmp_path / "m", device="cpu")


def test_missing_and_garbled_files(tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="No checkpoint card"):
        checkpoints.load(tmp_path / "absent")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(checkpoints.CheckpointError, match="not valid JSON"):
        checkpoints.load(tmp_path / "broken")
    checkpoints.save(tiny_vae(), {}, tmp_path / "noweights")
    (tmp_path / "noweights.pt").unlink()
    with pytest.raises(checkpoints.CheckpointError, match="missing"):
        checkpoints.load(tmp_path / "noweights")


def test_weights_that_hold_code_are_refused(tmp_path):
    checkpoints.save(tiny_vae(), {}, tmp_path / "m")

    class Sneaky:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"payload": Sneaky()}, tmp_path / "m.pt")
    with pytest.raises(checkpoints.CheckpointError, match="carries pickled code") as refused:
        checkpoints.load(tmp_path / "m")
    assert "truncated" not in str(refused.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("half", [False, True])
def test_non_finite_weights_are_never_written(tmp_path, bad, half):
    model = tiny_vae()
    checkpoints.save(model, {}, tmp_path / "m")
    before = (tmp_path / "m.pt").read_bytes()
    with torch.no_grad():
        model.encoder[1].weight[0, 0] = bad
    with pytest.raises(checkpoints.CheckpointError, match="NaN or infinite"):
        checkpoints.save(model, {}, tmp_path / "m", half_precision=half)
    assert (tmp_path / "m.pt").read_bytes() == before  # the good file is untouched


def test_fp16_overflow_counts_as_non_finite(tmp_path):
    model = tiny_vae()
    with torch.no_grad():
        model.encoder[1].weight[0, 0] = 1e6  # finite in fp32, inf in fp16
    checkpoints.save(model, {}, tmp_path / "full")
    with pytest.raises(checkpoints.CheckpointError):
        checkpoints.save(model, {}, tmp_path / "half", half_precision=True)


def test_non_finite_weights_on_disk_are_refused_on_load(tmp_path):
    model = tiny_vae()
    checkpoints.save(model, {}, tmp_path / "m")
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    state["encoder.1.weight"][0, 0] = float("nan")
    torch.save(state, tmp_path / "m.pt")
    with pytest.raises(checkpoints.CheckpointError, match="NaN or infinite"):
        checkpoints.load(tmp_path / "m")


def test_training_state_round_trip_and_bad_files(tmp_path):
    state = {"format": "explorer-run-state-1", "weights": {"w": torch.ones(2)},
             "optimizer": {}, "ema": None, "step": 3}
    checkpoints.save_state(state, tmp_path / "run.state.pt")
    assert checkpoints.load_state(tmp_path / "run.state.pt")["step"] == 3
    state["weights"]["w"][0] = float("nan")
    with pytest.raises(checkpoints.CheckpointError, match="NaN"):
        checkpoints.save_state(state, tmp_path / "run.state.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(checkpoints.CheckpointError, match="not a training state"):
        checkpoints.load_state(tmp_path / "other.pt")
    with pytest.raises(checkpoints.CheckpointError, match="No training state"):
        checkpoints.load_state(tmp_path / "absent.pt")


def test_available_lists_cards_and_errors(tmp_path):
    checkpoints.save(tiny_vae(), {"dataset": "generated"}, tmp_path / "good")
    (tmp_path / "bad.json").write_text("[]")
    listed = {entry["name"]: entry for entry in checkpoints.available(tmp_path)}
    assert listed["good"]["model"] == "VAE"
    assert "error" in listed["bad"]
    assert checkpoints.metric_of({"test_nll_nats": 90.0}) == ("test_nll_nats", 90.0)


def test_shipped_checkpoint_cards_are_complete():
    for entry in checkpoints.available():
        assert "error" not in entry, entry
        for key in checkpoints.REQUIRED_CARD_KEYS:
            assert key in entry, (entry["name"], key)
        assert checkpoints.metric_of(entry) is not None, entry["name"]

"""The training and evaluation command lines, end to end on a sliver of MNIST."""

import json

import pytest

from explorer import checkpoints, evaluate, train
from tests.conftest import requires_mnist

SHIPPED = ("vae16_mnist", "vae2_mnist", "ae16_mnist", "gated_pixelcnn_mnist",
           "masked_pixelcnn_mnist", "pixel_transformer_mnist")


@requires_mnist
@pytest.mark.parametrize("model, flags", [
    ("vae", ["--latent-dim", "2", "--hidden", "16"]),
    ("pixelcnn", ["--channels", "4", "--layers", "2", "--head-channels", "8"]),
])
def test_train_then_evaluate_reproduces_the_card(tmp_path, capsys, model, flags):
    out = tmp_path / "tiny"
    summary = train.main([model, "--out", str(out), "--epochs", "1", "--train-limit", "256",
                          "--batch-size", "64", "--eval-limit", "20", "--eval-samples", "10",
                          "--device", "cpu", *flags])
    assert summary["state"] == "finished"
    _, card = checkpoints.load(out)
    for key in checkpoints.REQUIRED_CARD_KEYS:
        assert key in card
    assert card["command"].startswith(f"python -m explorer.train {model}")
    metric, claimed = checkpoints.metric_of(card)
    capsys.readouterr()
    result = evaluate.main([str(out), "--limit", "20"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == result and printed["n"] == 20 and printed["metric"] == metric
    tolerance = 2.0 if metric == "test_nll_nats" else 1e-3  # IWAE samples differ run to run
    assert printed["value"] == pytest.approx(claimed, abs=tolerance)


def test_evaluate_reports_a_broken_checkpoint(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main([str(tmp_path / "bad")])
    assert exit_info.value.code == 2
    assert "error" in json.loads(capsys.readouterr().out)


def test_unknown_model_is_a_usage_error():
    with pytest.raises(SystemExit):
        train.main(["gan9000", "--out", "x"])


def test_the_shipped_checkpoints_are_all_there():
    names = {entry["name"] for entry in checkpoints.available(checkpoints.CHECKPOINT_DIR)}
    assert set(SHIPPED) <= names, sorted(set(SHIPPED) - names)
    total = sum(p.stat().st_size for p in checkpoints.CHECKPOINT_DIR.iterdir())
    assert total < 25 * 2**20

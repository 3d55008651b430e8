"""The training and evaluation command lines, end to end on a sliver of MNIST."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from explorer import checkpoints, evaluate, train
from tests.conftest import requires_mnist

SHIPPED = ("vae16_mnist", "vae2_mnist", "ae16_mnist", "gated_pixelcnn_mnist",
           "masked_pixelcnn_mnist", "pixel_transformer_mnist", "mnist_classifier")


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


TINY_RUN = ["pixelcnn", "--channels", "4", "--layers", "2", "--head-channels", "8",
            "--train-limit", "256", "--batch-size", "64", "--eval-limit", "10", "--device", "cpu"]


@requires_mnist
def test_resume_from_the_command_line_continues_the_run(tmp_path, capsys):
    out, state = tmp_path / "tiny", tmp_path / "runs" / "tiny.state.pt"
    first = train.main([*TINY_RUN, "--out", str(out), "--epochs", "1"])
    assert first["state"] == "finished" and state.is_file()
    assert checkpoints.load_state(state)["step"] == 4
    resumed = train.main(["--resume", str(state), "--epochs", "2"])
    assert resumed["state"] == "finished"
    assert checkpoints.load_state(state)["step"] == 8
    _, card = checkpoints.load(out)
    assert card["steps"] == 8 and card["epochs"] == 2
    assert card["command"].startswith("python -m explorer.train pixelcnn")
    assert card["resumed_with"] == [f"python -m explorer.train --resume {state} --epochs 2"]
    assert [s["from_step"] for s in card["segments"]] == [0, 4]
    with pytest.raises(SystemExit):
        train.main(["--resume", str(tmp_path / "absent.state.pt")])


@requires_mnist
def test_init_warm_starts_from_a_checkpoint_and_cites_it(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    train.main([*TINY_RUN, "--out", str(first), "--epochs", "1"])
    source, first_card = checkpoints.load(first)
    # zero steps: the warm-started model is exactly the checkpoint it started from
    train.main([*TINY_RUN, "--out", str(second), "--max-steps", "0", "--init", str(first)])
    model, card = checkpoints.load(second)
    for name, tensor in source.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    cited = card["initialised_from"]
    assert cited["path"] == str(first) and cited["steps"] == first_card["steps"]
    assert cited["test_bits_per_dim"] == first_card["test_bits_per_dim"]
    assert card["cpu_hours_total"] == pytest.approx(card["cpu_hours"] + first_card["cpu_hours"],
                                                    abs=2e-3)
    # a warm start from a warm start cites the epochs of the whole chain
    third = tmp_path / "third_link"
    train.main([*TINY_RUN, "--out", str(third), "--max-steps", "0", "--init", str(second)])
    chained = checkpoints.load(third)[1]["initialised_from"]
    assert chained["epochs"] == pytest.approx(first_card["epochs"] + card["epochs"])
    # a different architecture is refused with the reason, not a traceback
    with pytest.raises(SystemExit):
        train.main([*TINY_RUN[:-2], "--channels", "8", "--device", "cpu", "--out",
                    str(tmp_path / "third"), "--max-steps", "1", "--init", str(first)])
    assert "holds a GatedPixelCNN with config" in capsys.readouterr().err


@requires_mnist
def test_sigterm_saves_the_state_and_says_how_to_resume(tmp_path):
    """A run ended by SIGTERM (as at the end of a working stretch) writes its state."""
    out = tmp_path / "tiny"
    process = subprocess.Popen(
        [sys.executable, "-m", "explorer.train", *TINY_RUN, "--out", str(out),
         "--epochs", "1000"], cwd=str(checkpoints.CHECKPOINT_DIR.parent),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.time() + 60
        while time.time() < deadline and "from step 0" not in process.stderr.readline():
            pass
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "'state': 'stopped'" in stdout and "--resume" in stdout
    state = checkpoints.load_state(tmp_path / "runs" / "tiny.state.pt")
    assert state["step"] > 0
    assert not out.with_suffix(".pt").exists()  # no half-trained model posing as finished

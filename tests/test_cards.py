"""The README's checkpoint table is built from the cards: every number comes from a card."""

import json

import pytest

from explorer import cards


def write(folder, name, card, weights=b"x" * 2_000_000):
    (folder / f"{name}.json").write_text(json.dumps(card))
    if weights is not None:
        (folder / f"{name}.pt").write_bytes(weights)


def test_table_rows_carry_each_cards_metric_and_quality(tmp_path):
    write(tmp_path, "ar", {"model": "GatedPixelCNN", "test_bits_per_dim": 0.98765,
                           "test_images": 10000, "sample_class_accuracy": 0.935,
                           "digit_likeness": 0.9, "sample_quality": {"samples_per_class": 20},
                           "epochs": 4.5, "cpu_hours": 7.25})
    write(tmp_path, "vae", {"model": "VAE", "test_nll_nats": 86.38, "eval_samples": 1000,
                            "digit_likeness": 0.913, "sample_quality": {"samples_per_class": 20},
                            "epochs": 200, "train_seconds": 3600,
                            "train_config": {"threads": 2}})
    write(tmp_path, "orphan", {"model": "VAE"}, weights=None)  # a card without weights
    rows = cards.table(tmp_path).splitlines()
    assert len(rows) == 4  # header, separator, two checkpoints
    ar = next(r for r in rows if "`ar`" in r)
    assert "0.988 bits/dim (10,000 test images)" in ar
    # 0.935 whole: two decimals rounded 0.795 up to a goal of 0.80 it had not met
    assert "class accuracy 0.935, digit-likeness 0.90 (20 per class, T = 1)" in ar
    assert "| 4.5 | 7.25 |" in ar and "2.00 MB" in ar
    vae = next(r for r in rows if "`vae`" in r)
    assert "86.4 nats NLL (IWAE k=1000)" in vae and "T = 1" not in vae
    assert "digit-likeness 0.91 (200 samples)" in vae
    assert vae.endswith("| 200 | 2.00 |")  # one hour on two threads


def test_a_warm_started_run_counts_the_epochs_and_hours_it_started_from(tmp_path):
    write(tmp_path, "warm", {"model": "GatedPixelCNN", "test_bits_per_dim": 1.0,
                             "epochs": 3.5, "train_seconds": 3600.0,
                             "segments": [{"hardware": "CPU (2 threads)", "seconds_before": 0}],
                             "initialised_from": {"epochs": 4.6, "cpu_hours": 5.0}})
    row = next(r for r in cards.table(tmp_path).splitlines() if "`warm`" in r)
    assert row.endswith("| 8.1 (4.6 + 3.5) | 7.00 (5.00 + 2.00) |")


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint folder"):
        cards.table(tmp_path / "absent")


def test_core_hours_come_from_the_cards_stretches(tmp_path):
    write(tmp_path, "run", {"model": "GatedPixelCNN", "train_seconds": 7200.0, "cpu_hours": 2.0,
                            "segments": [{"hardware": "CPU (1 thread)", "seconds_before": 0},
                                         {"hardware": "CPU (2 threads)",
                                          "seconds_before": 3600}]})
    assert cards.table(tmp_path).splitlines()[2].endswith("| 3.00 |")

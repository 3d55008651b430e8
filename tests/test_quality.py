"""Sample quality judged by a classifier: the verdict arithmetic, the judge's training
augmentation, and the evaluate command on tiny models."""

import json

import pytest
import torch
from torch import nn

from explorer import checkpoints, evaluate, quality
from explorer.models import build
from explorer.models.classifier import ClassifierConfig, DigitClassifier, random_shift


class FixedJudge(nn.Module):
    """Reads every image as class `image mean brightness % 10` with probability 0.9."""

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(()))

    @torch.no_grad()
    def probabilities(self, images):
        classes = images.float().flatten(1).mean(1).long() % 10
        p = torch.full((len(images), 10), 0.1 / 9)
        p[torch.arange(len(images)), classes] = 0.9
        return p


def images_reading_as(classes):
    return torch.stack([torch.full((1, 28, 28), int(c), dtype=torch.uint8) for c in classes])


def test_class_accuracy_counts_the_requested_class():
    requested = quality.requested_labels(2)  # 0 0 1 1 2 2 ...
    assert requested.tolist() == [c for c in range(10) for _ in range(2)]
    read = requested.clone()
    read[::2] = (read[::2] + 1) % 10  # every first sample of a class is misread
    verdict = quality.judge(FixedJudge(), images_reading_as(read), requested)
    assert verdict.class_accuracy == pytest.approx(0.5)
    assert verdict.per_class_accuracy == [0.5] * 10
    assert verdict.digit_likeness == pytest.approx(0.9)
    assert verdict.predicted == read.tolist()
    assert "5 of 10" in verdict.sentence()


def test_unconditional_verdict_has_no_accuracy():
    verdict = quality.judge(FixedJudge(), images_reading_as([3, 4]))
    assert verdict.class_accuracy is None and verdict.digit_likeness == pytest.approx(0.9)
    assert "90%" in verdict.sentence()


def test_random_shift_moves_each_image_within_range():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 14, 14] = 1.0
    shifted = random_shift(x, 2, torch.Generator().manual_seed(1))
    assert shifted.shape == x.shape
    positions = shifted[:, 0].flatten(1).argmax(1)
    rows, cols = positions // 28, positions % 28
    assert shifted.flatten(1).sum(1).eq(1).all()  # nothing lost, nothing added
    assert rows.sub(14).abs().max() <= 2 and cols.sub(14).abs().max() <= 2
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10  # per image, not per batch
    assert torch.equal(random_shift(x, 0), x)


def test_classifier_learns_a_toy_task_and_reports_accuracy(fake_images, fake_labels):
    torch.manual_seed(0)
    model = DigitClassifier(ClassifierConfig(channels=4, hidden=8, dropout=0.0, shift=0))
    labels = (fake_images.flatten(1).float().mean(1) > 40).long()  # two kinds of blob
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(60):
        loss = model.training_loss(fake_images, labels, {})["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(model.test_metric(fake_images, labels).mean()) > 0.8
    p = model.probabilities(fake_images)
    assert torch.allclose(p.sum(-1), torch.ones(len(p)))
    with pytest.raises(ValueError):
        DigitClassifier(ClassifierConfig(dropout=1.0))


@pytest.mark.parametrize("conditional", [True, False])
def test_generate_draws_per_class_samples(conditional):
    torch.manual_seed(0)
    model = build("GatedPixelCNN", {"channels": 4, "layers": 2, "head_channels": 8}).eval()
    images, labels = quality.generate(model, 1, conditional=conditional)
    assert images.shape == (10, 1, 28, 28) and images.dtype == torch.uint8
    if conditional:
        assert labels.tolist() == list(range(10))
    else:
        assert labels is None
    again, _ = quality.generate(model, 1, conditional=conditional)
    assert torch.equal(images, again)  # fixed seed


def test_vae_prior_samples_are_judged_for_digit_likeness():
    torch.manual_seed(0)
    vae = build("VAE", {"latent_dim": 2, "hidden": 8}).eval()
    entries = quality.card_entries(vae, 1, classifier=FixedJudge())
    assert entries["digit_likeness"] == pytest.approx(0.9)
    assert "sample_class_accuracy" not in entries
    with pytest.raises(TypeError):
        quality.generate(FixedJudge(), 1)


def test_summary_sentence_from_a_card():
    text = quality.summary_of({"sample_class_accuracy": 0.91,
                               "sample_quality": {"samples_per_class": 20}})
    assert "reads 91% of 200 samples (T = 1)" in text
    assert "of 10" not in text  # beside a gallery of ten it read as a count of the gallery
    assert "87%" in quality.summary_of({"digit_likeness": 0.87})
    guided = quality.summary_of({"sample_class_accuracy": 0.808,
                                 "sample_quality": {"samples_per_class": 100},
                                 "guided_sample_quality": {"guidance": 1.0,
                                                           "sample_class_accuracy": 0.974,
                                                           "samples_per_class": 100}})
    assert "reads 80.8% of 1000 samples" in guided
    assert guided.endswith("With guidance w = 1 (the Guidance box): 97.4% of 1000 samples.")
    assert quality.summary_of({}) is None


def test_evaluate_judges_samples_and_writes_the_card(tmp_path, capsys, monkeypatch):
    torch.manual_seed(0)
    judge = DigitClassifier(ClassifierConfig(channels=2, hidden=4))
    checkpoints.save(judge, {"dataset": "mnist"}, tmp_path / "judge")
    model = build("GatedPixelCNN", {"channels": 4, "layers": 2, "head_channels": 8})
    checkpoints.save(model, {"dataset": "mnist"}, tmp_path / "ar")
    result = evaluate.main([str(tmp_path / "ar"), "--samples", "1", "--skip-metric",
                            "--classifier", str(tmp_path / "judge"), "--write"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == result
    assert 0.0 <= result["sample_class_accuracy"] <= 1.0
    assert 0.1 <= result["digit_likeness"] <= 1.0
    card = checkpoints.read_card(tmp_path / "ar")
    assert card["sample_class_accuracy"] == result["sample_class_accuracy"]
    assert card["sample_quality"]["samples_per_class"] == 1
    with pytest.raises(SystemExit):  # the judge itself does not generate
        evaluate.main([str(tmp_path / "judge"), "--samples", "1", "--skip-metric",
                       "--classifier", str(tmp_path / "judge")])


def test_gallery_reads_each_sample_and_names_the_misreads():
    import numpy as np

    tiny_models = {"gated": build("GatedPixelCNN", {"channels": 4, "layers": 2,
                                                    "head_channels": 8}).eval(),
                   "masked": build("MaskedPixelCNN", {"channels": 4, "layers": 2,
                                                      "head_channels": 8}).eval()}

    class Stub(torch.nn.Module):  # a "classifier" that reads every image as a 3
        def probabilities(self, images):
            out = torch.full((len(images), 10), 0.01)
            out[:, 3] = 0.91
            return out

        def forward(self, images):  # only for model_device's parameter lookup
            return images
    stub = Stub()
    stub.register_buffer("anchor", torch.zeros(1))
    conditional = quality.gallery(tiny_models["gated"], stub)
    assert conditional.images.shape == (10, 28, 28) and conditional.images.dtype == np.uint8
    assert conditional.requested == list(range(10)) and conditional.predicted == [3] * 10
    assert conditional.sentence() == ("The classifier reads 1 of these 10 as the digit asked "
                                      "for (misread: 0 as 3, 1 as 3, 2 as 3, 4 as 3, 5 as 3, "
                                      "6 as 3, 7 as 3, 8 as 3, 9 as 3).")
    unconditional = quality.gallery(tiny_models["masked"], stub)
    assert unconditional.requested is None
    assert "at least 90% sure that 10 of these 10" in unconditional.sentence()
    assert "No digit classifier" in quality.gallery(tiny_models["masked"], None).sentence()


def test_the_verdict_never_rounds_a_share_up_to_a_goal():
    from explorer.quality import summary_of

    card = {"sample_class_accuracy": 0.795, "sample_quality": {"samples_per_class": 20}}
    assert "reads 79.5% of 200 samples" in summary_of(card)  # not "80%"
    card["sample_class_accuracy"] = 0.9
    assert "reads 90% of 200 samples" in summary_of(card)

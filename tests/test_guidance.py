"""Classifier-free guidance (Ho & Salimans 2022) for the autoregressive samplers: the
guided distribution is p(x|c)^(1+w) / p(x)^w renormalised, which by Bayes' rule is
p(x|c) p(c|x)^w; w = 0 is the conditional model exactly; bad w is refused plainly."""

import json

import numpy as np
import pytest
import torch

from explorer import checkpoints, evaluate, quality, sampling
from explorer.models import build
from explorer.models.classifier import ClassifierConfig, DigitClassifier


def tiny_gated(seed: int = 0):
    torch.manual_seed(seed)
    return build("GatedPixelCNN", {"channels": 4, "layers": 2, "head_channels": 8}).eval()


def test_no_guidance_is_the_conditional_model_exactly():
    cond, uncond = torch.randn(3, 256), torch.randn(3, 256)
    assert torch.equal(sampling.guided_logits(cond, uncond, 0.0), cond)


def test_guidance_follows_bayes_rule():
    # a toy joint p(x, c) over 5 levels and 3 classes: guided p must be p(x|c) p(c|x)^w
    joint = torch.rand(5, 3, generator=torch.Generator().manual_seed(1)) + 0.05
    joint /= joint.sum()
    p_x = joint.sum(1)  # (5,)
    p_x_given_c = joint / joint.sum(0, keepdim=True)  # (5, 3)
    p_c_given_x = joint / p_x[:, None]
    for w in (0.5, 1.0, 3.0):
        for c in range(3):
            guided = torch.softmax(sampling.guided_logits(
                p_x_given_c[:, c].log()[None], p_x.log()[None], w), -1)[0]
            expected = p_x_given_c[:, c] * p_c_given_x[:, c] ** w
            assert torch.allclose(guided, expected / expected.sum(), atol=1e-6)
    # and guidance moves mass towards the levels that say most about the class
    c = 0
    best = int(p_c_given_x[:, c].argmax())
    strong = torch.softmax(sampling.guided_logits(p_x_given_c[:, c].log()[None],
                                                  p_x.log()[None], 4.0), -1)[0]
    assert strong[best] > p_x_given_c[best, c]


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), 10.5])
def test_bad_guidance_is_refused_plainly(bad):
    with pytest.raises(sampling.SamplingError, match="Guidance must be between 0"):
        sampling.check_guidance(bad)
    with pytest.raises(sampling.SamplingError):
        sampling.sample_images(tiny_gated(), 1, label=3, guidance=bad)


def test_guided_stepper_matches_the_two_models_it_combines():
    model = tiny_gated()
    images = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    guided = sampling.guided_stepper(model, images, 4, 1.5, fast=False)
    cond = model.stepper(images, 4, fast=False)
    uncond = model.stepper(images, None, fast=False)
    for k in (0, 300, 783):
        expected = sampling.guided_logits(cond(k), uncond(k), 1.5)
        assert torch.allclose(guided(k), expected, atol=1e-5)
    # no class to steer towards: the plain stepper
    plain = sampling.guided_stepper(model, images, None, 1.5, fast=False)
    assert torch.allclose(plain(10), uncond(10))


def test_guided_sampling_replays_and_zero_guidance_is_unchanged():
    model = tiny_gated()
    plain = sampling.sample_images(model, 2, label=7, seed=3)
    assert torch.equal(sampling.sample_images(model, 2, label=7, seed=3, guidance=0.0), plain)
    guided = sampling.sample_images(model, 2, label=7, seed=3, guidance=2.0)
    assert guided.dtype == torch.uint8 and guided.shape == (2, 1, 28, 28)
    assert torch.equal(sampling.sample_images(model, 2, label=7, seed=3, guidance=2.0), guided)
    assert not torch.equal(guided, plain)  # it does steer


def test_unconditional_models_refuse_guidance_in_the_quality_check():
    torch.manual_seed(0)
    masked = build("MaskedPixelCNN", {"channels": 4, "layers": 2, "num_classes": 0}).eval()
    judge = DigitClassifier(ClassifierConfig(channels=2, hidden=4)).eval()
    with pytest.raises(ValueError, match="class-conditional"):
        quality.evaluate(masked, judge, 1, guidance=1.0)


def test_evaluate_writes_guided_figures_beside_the_headline(tmp_path, capsys):
    torch.manual_seed(0)
    judge = DigitClassifier(ClassifierConfig(channels=2, hidden=4))
    checkpoints.save(judge, {"dataset": "mnist"}, tmp_path / "judge")
    checkpoints.save(tiny_gated(), {"dataset": "mnist", "sample_class_accuracy": 0.5},
                     tmp_path / "ar")
    result = evaluate.main([str(tmp_path / "ar"), "--samples", "1", "--skip-metric",
                            "--guidance", "1", "--classifier", str(tmp_path / "judge"),
                            "--write"])
    guided = result["guided_sample_quality"]
    assert guided["guidance"] == 1.0 and 0.0 <= guided["sample_class_accuracy"] <= 1.0
    card = checkpoints.read_card(tmp_path / "ar")
    assert card["guided_sample_quality"] == guided
    assert card["sample_class_accuracy"] == 0.5  # the unguided headline is kept
    capsys.readouterr()
    with pytest.raises(SystemExit):
        evaluate.main([str(tmp_path / "ar"), "--samples", "1", "--skip-metric",
                       "--guidance", "-1", "--classifier", str(tmp_path / "judge")])
    assert "Guidance must be between 0" in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.parametrize("name", ["GatedPixelCNN", "PixelTransformer"])
def test_the_interactive_sampler_samples_the_guided_distribution(name):
    """Each step samples softmax(guided / T) while its ledger keeps the model's own p, and
    guidance turned on mid-run (its class-free cache warmed to that pixel) gives the same
    distributions as a from-scratch computation on the image so far."""
    torch.manual_seed(0)
    small = {"GatedPixelCNN": {"channels": 4, "layers": 2, "head_channels": 8},
             "PixelTransformer": {"d_model": 16, "layers": 1, "heads": 2}}[name]
    model = build(name, small).eval()
    sampler = sampling.PixelSampler(label=3, seed=5, temperature=0.8)
    sampling.advance(sampler, model, 40)  # unguided first
    sampler.guidance = 2.0
    for _ in range(5):
        k = sampler.position
        step = sampler.step(model)
        image = sampler.image.clone()  # the image as it was before pixel k: later ones zero
        image.view(-1)[k:] = 0
        with torch.no_grad():
            cond = model.stepper(image, 3, fast=False)(k)
            free = model.stepper(image, None, fast=False)(k)
        expected = torch.softmax(sampling.guided_logits(cond, free, 2.0) / 0.8, -1)[0]
        assert torch.allclose(torch.as_tensor(step.probabilities), expected, atol=1e-4)
        assert torch.allclose(torch.as_tensor(step.model_probabilities),
                              torch.softmax(cond, -1)[0], atol=1e-4)
    sampler.guidance = 0.0  # off again: plain conditional sampling
    k = sampler.position
    step = sampler.step(model)
    assert np.allclose(step.probabilities,
                       torch.softmax(torch.as_tensor(step.model_probabilities).log() / 0.8,
                                     -1).numpy(), atol=1e-4)


def test_guidance_needs_a_class_and_replays_share_it():
    model = tiny_gated()
    free = sampling.PixelSampler(label=None, seed=1, guidance=3.0)
    plain = sampling.PixelSampler(label=None, seed=1)
    sampling.advance(free, model, 30)
    sampling.advance(plain, model, 30)
    assert torch.equal(free.image, plain.image)  # no class: nothing to steer towards
    replays = sampling.SharedReplays()
    guided = replays.get(model, "m", 1, 4, 1.0, False, 30, {}, guidance=1.0)
    unguided = replays.get(model, "m", 1, 4, 1.0, False, 30, {})
    assert guided.guidance == 1.0 and not torch.equal(guided.image, unguided.image)
    with pytest.raises(sampling.SamplingError):
        sampling.PixelSampler(label=1, guidance=-1.0)

"""Sample quality judged by a digit classifier: a proxy, not a likelihood.

- sample_class_accuracy: draw N samples for each requested class and report the share the
  classifier assigns to that class (the conditional-accuracy check used for
  class-conditional generators, e.g. the "classification accuracy score" family of checks).
- digit_likeness: the classifier's mean max-probability over samples drawn without a class
  (unconditional models, VAE prior samples): near 1 when every sample reads as some digit.

Both depend on the judge: they say "a 99%-accurate MNIST classifier reads these samples as
the digit you asked for", not how probable the samples are under the data distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from explorer import checkpoints
from explorer.device import model_device
from explorer.models.autoregressive import AutoregressiveModel

CLASSIFIER_NAME = "mnist_classifier"  # the shipped judge in checkpoints/
QUALITY_SEED = 0  # samples for the card's scores are always drawn from this seed


@dataclass
class SampleQuality:
    """Classifier verdicts on generated images."""

    samples: int  # images judged
    digit_likeness: float  # mean max-probability, 0.1 (uniform) .. 1.0
    class_accuracy: float | None = None  # share read as the requested class (conditional)
    per_class_accuracy: list[float] = field(default_factory=list)  # index = requested class
    predicted: list[int] = field(default_factory=list)  # classifier's reading of each sample
    confidence: list[float] = field(default_factory=list)  # its probability for that reading

    def sentence(self) -> str:
        """One line for a page, e.g. 'a classifier reads 9 of 10 samples as the digit you
        asked for'."""
        if self.class_accuracy is not None:
            tenths = int(round(self.class_accuracy * 10))
            return (f"A digit classifier (99% on real test digits) reads {tenths} of 10 "
                    f"samples as the digit that was asked for "
                    f"({self.class_accuracy:.0%} of {self.samples}).")
        return (f"A digit classifier is on average {self.digit_likeness:.0%} sure that a "
                f"sample is some digit ({self.samples} samples; real test digits: about 99%).")


def classifier_path() -> Path:
    """The shipped judge: checkpoints/mnist_classifier (always the repository's own copy)."""
    return checkpoints.CHECKPOINT_DIR / CLASSIFIER_NAME


def load_classifier(path: str | Path | None = None, device: torch.device | str | None = "cpu"
                    ) -> nn.Module:
    """The digit classifier in eval mode; CheckpointError when missing or unreadable."""
    model, card = checkpoints.load(path or classifier_path(), device=device)
    if card.get("model") != "DigitClassifier":
        raise checkpoints.CheckpointError(f"{path} is a {card.get('model')}, not a classifier.")
    return model


@torch.no_grad()
def judge(classifier: nn.Module, images: torch.Tensor, requested: torch.Tensor | None = None
          ) -> SampleQuality:
    """Classifier verdicts on uint8 images (N, 1, 28, 28); `requested` (N,) class labels
    make it a conditional-accuracy check."""
    probabilities = classifier.probabilities(images.to(model_device(classifier))).cpu()
    top, predicted = probabilities.max(-1)
    quality = SampleQuality(samples=len(images), digit_likeness=float(top.mean()),
                            predicted=[int(p) for p in predicted],
                            confidence=[float(p) for p in top])
    if requested is not None:
        requested = requested.cpu().long()
        hits = (predicted == requested).float()
        quality.class_accuracy = float(hits.mean())
        quality.per_class_accuracy = [float(hits[requested == c].mean())
                                      if bool((requested == c).any()) else float("nan")
                                      for c in range(int(requested.max()) + 1)]
    return quality


def requested_labels(per_class: int, classes: int = 10) -> torch.Tensor:
    """0, 0, .., 1, 1, .., 9: `per_class` of each class, (per_class * classes,) int64."""
    return torch.arange(classes).repeat_interleave(per_class)


@torch.no_grad()
def generate(model: nn.Module, per_class: int, conditional: bool = True,
             temperature: float = 1.0, seed: int = QUALITY_SEED, guidance: float = 0.0
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Samples to judge: (images uint8 (N, 1, 28, 28), requested labels or None).

    Autoregressive models draw per_class * 10 images (per class when conditional, with
    classifier-free guidance w = `guidance`); VAEs and autoencoders decode per_class * 10
    codes z ~ N(0, I) (their mean images).
    """
    from explorer import sampling  # sampling imports the models; keep this module light

    count = per_class * 10
    if isinstance(model, AutoregressiveModel):
        labels = requested_labels(per_class) if conditional and model.num_classes else None
        images = sampling.sample_images(model, count, label=labels, temperature=temperature,
                                        seed=seed, guidance=guidance)
        return images, labels
    if hasattr(model, "sample"):
        generator = torch.Generator().manual_seed(seed)
        means = model.sample(count, generator=generator)  # (N, 1, 28, 28) in [0, 1]
        return (means.clamp(0, 1) * 255).round().to(torch.uint8).cpu(), None
    raise TypeError(f"{type(model).__name__} does not generate images")


def evaluate(model: nn.Module, classifier: nn.Module, per_class: int,
             temperature: float = 1.0, seed: int = QUALITY_SEED, guidance: float = 0.0
             ) -> dict[str, SampleQuality]:
    """{"conditional": ..., "unconditional": ...} verdicts; a class-conditional model gets
    both (its "none" class samples without a class), others only "unconditional". With
    guidance w > 0 only "conditional" (guidance needs a class to steer towards)."""
    results = {}
    if getattr(model, "num_classes", 0):
        images, labels = generate(model, per_class, True, temperature, seed, guidance)
        results["conditional"] = judge(classifier, images, labels)
        if guidance > 0:
            return results
    elif guidance > 0:
        raise ValueError("Guidance needs a class-conditional model.")
    images, _ = generate(model, per_class, False, temperature, seed)
    results["unconditional"] = judge(classifier, images)
    return results


def card_entries(model: nn.Module, per_class: int, classifier: nn.Module | None = None,
                 temperature: float = 1.0, guidance: float = 0.0) -> dict[str, Any]:
    """The sample-quality keys written on a checkpoint card. With guidance w > 0 they go
    under "guided_sample_quality" (the unguided figures stay the card's headline)."""
    classifier = classifier or load_classifier()
    results = evaluate(model, classifier, per_class, temperature, guidance=guidance)
    if guidance > 0:
        conditional = results["conditional"]
        return {"guided_sample_quality": {
            "guidance": guidance, "sample_class_accuracy": round(conditional.class_accuracy, 4),
            **_conditional_details(conditional),
            **_provenance(per_class, temperature, "classifier-free guidance (Ho & Salimans "
                          "2022): a sampler setting that trades diversity for class "
                          "fidelity; a proxy, not a likelihood")}}
    entries: dict[str, Any] = {
        "sample_quality": _provenance(per_class, temperature, "classifier verdicts on "
                                      "generated images: a proxy, not a likelihood"),
        "digit_likeness": round(results["unconditional"].digit_likeness, 4),
    }
    if "conditional" in results:
        conditional = results["conditional"]
        entries["sample_class_accuracy"] = round(conditional.class_accuracy, 4)
        entries["sample_quality"].update(_conditional_details(conditional))
    return entries


def _provenance(per_class: int, temperature: float, note: str) -> dict[str, Any]:
    """How a card's verdicts were made: the judge, samples per class, seed, temperature."""
    return {"judge": f"checkpoints/{CLASSIFIER_NAME}", "samples_per_class": per_class,
            "seed": QUALITY_SEED, "temperature": temperature, "note": note}


def _conditional_details(conditional: SampleQuality) -> dict[str, Any]:
    return {"per_class_accuracy": [round(a, 3) for a in conditional.per_class_accuracy],
            "conditional_digit_likeness": round(conditional.digit_likeness, 4)}


@dataclass
class Gallery:
    """One sample per digit (or ten unconditional ones) with the classifier's reading."""

    images: np.ndarray  # (10, 28, 28) uint8
    requested: list[int] | None  # the digit asked for, per image; None when unconditional
    predicted: list[int] | None  # the classifier's reading; None without a classifier
    confidence: list[float] | None  # its probability for that reading, 0..1

    def sentence(self) -> str:
        """"The classifier reads 9 of these 10 as the digit asked for (misread: 4 as 9)."""
        if self.predicted is None:
            return "No digit classifier is available to judge these samples."
        if self.requested is None:
            sure = sum(c >= 0.9 for c in self.confidence)
            return (f"The classifier is at least 90% sure that {sure} of these 10 are some "
                    "digit.")
        misread = [f"{r} as {p}" for r, p in zip(self.requested, self.predicted) if r != p]
        hits = 10 - len(misread)
        return (f"The classifier reads {hits} of these 10 as the digit asked for"
                + (f" (misread: {', '.join(misread)})." if misread else "."))


def gallery(model: nn.Module, classifier: nn.Module | None, seed: int = QUALITY_SEED,
            temperature: float = 1.0) -> Gallery:
    """Samples 0..9 from a class-conditional model (else ten without a class), drawn from a
    fixed seed, with the classifier's verdict on each (None when classifier is None)."""
    conditional = bool(getattr(model, "num_classes", 0))
    images, labels = generate(model, 1, conditional, temperature, seed)
    verdict = judge(classifier, images, labels) if classifier is not None else None
    return Gallery(images=images[:, 0].numpy(),
                   requested=[int(x) for x in labels] if labels is not None else None,
                   predicted=verdict.predicted if verdict is not None else None,
                   confidence=verdict.confidence if verdict is not None else None)


def summary_of(card: dict[str, Any]) -> str | None:
    """The page's one-line verdict from a card's stored scores (None when absent)."""
    quality = card.get("sample_quality") or {}
    per_class = quality.get("samples_per_class")
    if card.get("sample_class_accuracy") is not None:
        accuracy = float(card["sample_class_accuracy"])
        # a share, not "9 of 10": beside a gallery of ten, "9 of 10" read as a count of it
        count = f"{10 * per_class} samples" if per_class else "the card's samples"
        share = f"{100 * accuracy:.1f}".removesuffix(".0")  # 79.5 %, never rounded to 80 %
        text = (f"A digit classifier reads {share}% of {count} (T = "
                f"{quality.get('temperature', 1.0):g}) as the digit that was asked for.")
        guided = card.get("guided_sample_quality") or {}
        if guided.get("sample_class_accuracy") is not None:
            guided_share = f"{100 * float(guided['sample_class_accuracy']):.1f}"
            text += (f" With guidance w = {float(guided['guidance']):g} (the Guidance box): "
                     f"{guided_share.removesuffix('.0')}% of "
                     f"{10 * int(guided.get('samples_per_class', 0))} samples.")
        return text
    if card.get("digit_likeness") is not None:
        return (f"A digit classifier is on average {float(card['digit_likeness']):.0%} sure "
                "that a sample is some digit (real test digits: about 99%).")
    return None

"""A small MNIST CNN classifier: the judge of sample quality, not a generative model.

Two 3x3 convolution blocks with max pooling, a hidden layer and a 10-way softmax (the
classic Keras MNIST example's shape, about 99.2 % on the test set), trained with random
shifts of up to `shift` pixels so that a digit drawn a little off-centre is still read.
Its verdict on generated images is the class-conditional accuracy check that papers on
class-conditional generators report; it is a proxy for sample quality, not a likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ClassifierConfig:
    channels: int = 32  # feature maps of the first block (the second has twice as many)
    hidden: int = 128  # width of the fully connected layer
    dropout: float = 0.25  # dropout before the hidden and the output layer (training only)
    shift: int = 2  # random translation of training images, pixels in each direction
    num_classes: int = 10

    def validate(self) -> None:
        if self.channels < 1 or self.hidden < 1 or self.num_classes < 2:
            raise ValueError("channels and hidden must be positive, num_classes at least 2")
        if not 0.0 <= self.dropout < 1.0 or not 0 <= self.shift <= 8:
            raise ValueError("dropout must be in [0, 1) and shift in 0..8")


def random_shift(x: torch.Tensor, shift: int, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
    """Translate each image of (B, C, H, W) by its own integer offset in [-shift, shift]
    in both directions, filling with zeros (background)."""
    if shift <= 0:
        return x
    batch, _, height, width = x.shape
    padded = F.pad(x, (shift, shift, shift, shift))
    offsets = torch.randint(0, 2 * shift + 1, (2, batch), generator=generator)
    rows = (offsets[0][:, None] + torch.arange(height)[None]).to(x.device)  # (B, H)
    cols = (offsets[1][:, None] + torch.arange(width)[None]).to(x.device)  # (B, W)
    index = torch.arange(batch, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


class DigitClassifier(nn.Module):
    config_class: ClassVar[type] = ClassifierConfig
    metric_name: ClassVar[str] = "test_accuracy"
    metric_unit: ClassVar[str] = "fraction of test images classified correctly"

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        config.validate()
        self.config = config
        c = config.channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),  # (B, c, 14, 14)
            nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2))  # (B, 2c, 7, 7)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(config.dropout),
                                  nn.Linear(2 * c * 49, config.hidden), nn.ReLU(),
                                  nn.Dropout(config.dropout),
                                  nn.Linear(config.hidden, config.num_classes))

    @property
    def live_hyperparameters(self) -> dict[str, float]:
        return {}

    @staticmethod
    def to_input(images: torch.Tensor) -> torch.Tensor:
        """uint8 levels 0..255 (B, 1, 28, 28) -> floats in [0, 1]."""
        return images.float() / 255.0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (B, 1, 28, 28) -> class logits (B, 10)."""
        return self.head(self.features(self.to_input(images)))

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (B, 1, 28, 28) -> p(class | image) (B, 10), in eval mode."""
        was_training = self.training
        self.eval()
        try:
            return torch.softmax(self(images).float(), -1)
        finally:
            self.train(was_training)

    def training_loss(self, images: torch.Tensor, labels: torch.Tensor,
                      hyper: dict[str, float]) -> dict[str, torch.Tensor]:
        """Cross-entropy on randomly shifted images; accuracy is logged."""
        x = random_shift(self.to_input(images), self.config.shift)
        logits = self.head(self.features(x))
        loss = F.cross_entropy(logits, labels)
        return {"loss": loss,
                "accuracy": (logits.argmax(-1) == labels).float().mean().detach()}

    @torch.no_grad()
    def test_metric(self, images: torch.Tensor, labels: torch.Tensor,
                    samples: int = 1) -> torch.Tensor:
        """1.0 where the most likely class is the label, else 0.0; (B,)."""
        return (self(images).argmax(-1) == labels).float()

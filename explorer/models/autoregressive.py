"""Shared base for autoregressive image models over 8-bit grey levels in scanline order:
p(x) = prod_k p(x_k | x_<k), each factor a 256-way softmax. Subclasses provide
logits_from_float (and optionally an exact fast stepper); this class turns them into the
NLL, the training loss, per-pixel steppers and input-influence maps."""

from __future__ import annotations

import math
from typing import Callable, ClassVar

import torch
from torch import nn

from explorer import objectives


class AutoregressiveModel(nn.Module):
    metric_name: ClassVar[str] = "test_bits_per_dim"
    metric_unit: ClassVar[str] = "bits per dimension (8-bit grey levels, exact)"
    num_classes: int = 0

    def __init__(self, config) -> None:
        """Validate and keep the model's config dataclass (its num_classes: 0 = unconditional)."""
        super().__init__()
        config.validate()
        self.config = config
        self.num_classes = config.num_classes

    @property
    def live_hyperparameters(self) -> dict[str, float]:
        return {}

    @staticmethod
    def to_input(images: torch.Tensor) -> torch.Tensor:
        """uint8 levels 0..255 (B, 1, H, W) -> floats in [-1, 1]."""
        return images.float() / 127.5 - 1.0

    def label_tensor(self, labels: torch.Tensor | int | None, batch: int,
                     device: torch.device) -> torch.Tensor | None:
        """Class labels for conditioning; None (or -1) means the "none" class."""
        if not self.num_classes:
            return None
        if labels is None:
            return torch.full((batch,), self.num_classes, dtype=torch.long, device=device)
        labels = torch.as_tensor(labels, device=device).long().expand(batch).clone()
        labels[(labels < 0) | (labels >= self.num_classes)] = self.num_classes
        return labels

    def logits_from_float(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, images: torch.Tensor, labels: torch.Tensor | int | None = None
                ) -> torch.Tensor:
        """uint8 images (B, 1, H, W) -> logits (B, 256, H, W) for every pixel at once."""
        labels = self.label_tensor(labels, images.shape[0], images.device)
        return self.logits_from_float(self.to_input(images), labels)

    def nll(self, images: torch.Tensor, labels: torch.Tensor | int | None = None) -> torch.Tensor:
        """-log p(x) in nats per image, exact: sum over pixels of -log softmax[x_k]; (B,)."""
        return objectives.categorical_nll(self(images, labels), images[:, 0])

    def training_loss(self, images: torch.Tensor, labels: torch.Tensor,
                      hyper: dict[str, float]) -> dict[str, torch.Tensor]:
        """Mean NLL per dimension (nats); class labels randomly dropped to "none" so the
        same model also samples without a class."""
        if self.num_classes and getattr(self.config, "class_dropout", 0) > 0:
            drop = torch.rand(labels.shape, device=labels.device) < self.config.class_dropout
            labels = torch.where(drop, torch.full_like(labels, -1), labels)
        nats = self.nll(images, labels if self.num_classes else None)
        dims = images[0].numel()
        return {"loss": nats.mean() / dims,
                "bits_per_dim": (nats.mean() / (dims * math.log(2))).detach()}

    @torch.no_grad()
    def test_metric(self, images: torch.Tensor, labels: torch.Tensor,
                    samples: int = 1) -> torch.Tensor:
        """Exact bits/dim per image (conditioned on the true class for class-conditional
        models)."""
        return objectives.nats_to_bits_per_dim(
            self.nll(images, labels if self.num_classes else None), images[0].numel())

    def make_naive_stepper(self, images: torch.Tensor, labels: torch.Tensor | int | None
                           ) -> Callable[[int], torch.Tensor]:
        """step(k) -> logits (B, 256) of pixel k, recomputing the whole network each time.
        `images` is read at every call, so the caller may write sampled pixels into it."""
        return self._full_network_stepper(
            images, self.label_tensor(labels, images.shape[0], images.device))

    def make_fast_stepper(self, images: torch.Tensor, labels: torch.Tensor | None
                          ) -> Callable[[int], torch.Tensor]:
        """Like make_naive_stepper but exploiting the model's structure; call it with
        k = 0, 1, 2, ... in order. `labels` is already a label tensor (or None). Models
        without a faster exact path fall back to the full network."""
        return self._full_network_stepper(images, labels)

    def _full_network_stepper(self, images: torch.Tensor, labels: torch.Tensor | None
                              ) -> Callable[[int], torch.Tensor]:
        width = images.shape[-1]

        def step(k: int) -> torch.Tensor:
            r, c = divmod(k, width)
            return self.logits_from_float(self.to_input(images), labels)[:, :, r, c]

        return step

    def stepper(self, images: torch.Tensor, labels: torch.Tensor | int | None = None,
                fast: bool = True) -> Callable[[int], torch.Tensor]:
        if not fast:
            return self.make_naive_stepper(images, labels)
        return self.make_fast_stepper(images, self.label_tensor(labels, images.shape[0],
                                                                images.device))

    def influence(self, image: torch.Tensor, label: int | None, k: int) -> torch.Tensor:
        """|d (logits of pixel k) / d input| per pixel, (H, W): which pixels the model's
        prediction for pixel k can depend on (computed from gradients)."""
        x = self.to_input(image.reshape(1, 1, *image.shape[-2:])).detach().requires_grad_(True)
        labels = self.label_tensor(label, 1, x.device)
        width = x.shape[-1]
        r, c = divmod(k, width)
        with torch.enable_grad():
            logits = self.logits_from_float(x, labels)[0, :, r, c]
            # a random projection of the 256 logits, so no direction cancels by symmetry
            weights = torch.randn(256, generator=torch.Generator().manual_seed(k)).to(x.device)
            (logits * weights).sum().backward()
        return x.grad[0, 0].abs()

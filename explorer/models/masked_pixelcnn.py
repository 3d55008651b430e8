"""The original masked PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural
Networks"): a 7x7 convolution with mask A (the centre pixel hidden) then 3x3 convolutions
with mask B (centre visible). Stacking masked kernels leaves a blind spot: pixels above
and to the right of the current one that no path reaches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from explorer.models.autoregressive import AutoregressiveModel


@dataclass
class MaskedPixelCNNConfig:
    channels: int = 32  # feature maps
    layers: int = 6  # residual blocks of mask-B 3x3 convolutions
    first_kernel: int = 7  # the mask-A input convolution
    kernel: int = 3
    head_channels: int = 128
    num_classes: int = 0  # class conditioning (0: unconditional)
    class_dropout: float = 0.1

    def validate(self) -> None:
        if self.channels < 1 or self.layers < 0:
            raise ValueError("channels must be positive and layers non-negative")
        if self.kernel % 2 == 0 or self.first_kernel % 2 == 0:
            raise ValueError("kernels must be odd")


class MaskedConv2d(nn.Conv2d):
    """Conv whose kernel only sees rows above and, in the centre row, columns to the left
    (mask A) or left and centre (mask B); applied functionally as weight * mask."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, mask_type: str):
        super().__init__(in_channels, out_channels, kernel, padding=kernel // 2)
        mask = torch.ones(kernel, kernel)
        centre = kernel // 2
        mask[centre, centre + (mask_type == "B"):] = 0
        mask[centre + 1:] = 0
        self.register_buffer("mask", mask[None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class MaskedPixelCNN(AutoregressiveModel):
    config_class: ClassVar[type] = MaskedPixelCNNConfig

    def __init__(self, config: MaskedPixelCNNConfig):
        super().__init__(config)
        c = config.channels
        self.first = MaskedConv2d(1, c, config.first_kernel, "A")
        self.blocks = nn.ModuleList(MaskedConv2d(c, c, config.kernel, "B")
                                    for _ in range(config.layers))
        self.condition = nn.Embedding(config.num_classes + 1, c) if config.num_classes else None
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(c, config.head_channels, 1), nn.ReLU(),
                                  nn.Conv2d(config.head_channels, 256, 1))

    @property
    def reach(self) -> int:
        """Rows up (and columns sideways) that can influence a pixel."""
        return self.config.first_kernel // 2 + self.config.layers * (self.config.kernel // 2)

    def logits_from_float(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        h = self.first(x)
        if self.condition is not None and labels is not None:
            h = h + self.condition(labels)[:, :, None, None]
        for block in self.blocks:
            h = h + block(F.relu(h))  # residual mask-B blocks
        return self.head(h)

    def make_fast_stepper(self, images: torch.Tensor, labels: torch.Tensor | None
                          ) -> Callable[[int], torch.Tensor]:
        """Crop to the receptive field: rows r-reach..r, columns c-reach..c+reach. Exact,
        since every activation on a path to pixel (r, c) lies inside that window."""
        width = images.shape[-1]
        reach = self.reach

        def step(k: int) -> torch.Tensor:
            r, c = divmod(k, width)
            top, left = max(0, r - reach), max(0, c - reach)
            window = self.to_input(images[:, :, top:r + 1, left:c + reach + 1])
            return self.logits_from_float(window, labels)[:, :, r - top, c - left]

        return step

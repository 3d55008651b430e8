"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
Decoders"): a vertical stack that sees every row above, a horizontal stack that sees the
pixels to the left, gated activations tanh(a) * sigmoid(b), optional class conditioning,
and a 256-way softmax per grey level. No blind spot.

Causality by construction (shapes (B, C, H, W)):
- vertical features at row i depend only on pixels in rows < i;
- horizontal features at (i, j) depend only on rows < i and pixels (i, < j).
That split gives an exact fast sampler: the vertical stack is computed once per row and the
horizontal stack on one row per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from explorer.models.autoregressive import AutoregressiveModel


@dataclass
class GatedPixelCNNConfig:
    channels: int = 64  # feature maps per stack
    layers: int = 12  # gated layers (the first one sees strictly earlier pixels)
    kernel: int = 3  # later layers reach kernel // 2 rows up and columns sideways
    first_kernel: int = 7  # the first layer reaches first_kernel // 2
    head_channels: int = 256  # width of the 1x1 output head
    num_classes: int = 10  # class conditioning (0: unconditional); index num_classes = "none"
    class_dropout: float = 0.1  # training labels replaced by "none" with this probability
    dilation_cycle: int = 1  # later layers dilate by 1, 2, 4, .., 2**(cycle-1), repeating

    def validate(self) -> None:
        if self.channels < 1 or self.layers < 1 or self.head_channels < 1:
            raise ValueError("channels, layers and head_channels must be positive")
        if self.kernel < 3 or self.kernel % 2 == 0 or self.first_kernel < 3 \
                or self.first_kernel % 2 == 0:
            raise ValueError("kernels must be odd and at least 3")
        if not 1 <= self.dilation_cycle <= 5:
            raise ValueError("dilation_cycle must be between 1 (no dilation) and 5")

    def dilations(self) -> list[int]:
        """Dilation of each layer: the first is 1; later ones cycle through powers of two
        (as WaveNet's stacks do), so the reach grows by kernel // 2 * d rows per layer."""
        return [1] + [2 ** (i % self.dilation_cycle) for i in range(self.layers - 1)]


class GatedLayer(nn.Module):
    def __init__(self, in_channels: int, channels: int, reach: int, first: bool,
                 num_classes: int, dilation: int = 1):
        super().__init__()
        self.first, self.reach, self.dilation = first, reach, dilation
        if first and dilation != 1:
            raise ValueError("the first layer is not dilated")
        rows = reach if first else reach + 1  # first: rows i-reach..i-1; later: i-reach..i
        cols = reach if first else reach + 1  # first: cols j-reach..j-1; later: j-reach..j
        # with dilation d a later layer sees rows i - d*reach..i (every d-th) and columns
        # j - d*reach..j + d*reach above, and j - d*reach..j in its own row
        self.vertical = nn.Conv2d(in_channels, 2 * channels, (rows, 2 * reach + 1),
                                  dilation=dilation)
        self.horizontal = nn.Conv2d(in_channels, 2 * channels, (1, cols), dilation=dilation)
        self.vertical_to_horizontal = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.horizontal_out = nn.Conv2d(channels, channels, 1)
        self.condition = nn.Embedding(num_classes + 1, 4 * channels) if num_classes else None

    def vertical_pre(self, v: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) -> pre-activation (B, 2C, H, W); row i sees rows above only."""
        r = self.reach * self.dilation
        out = self.vertical(F.pad(v, (r, r, r, 0)))
        return out[:, :, :-1] if self.first else out  # first: drop the row that saw row i

    def horizontal_pre(self, h: torch.Tensor) -> torch.Tensor:
        out = self.horizontal(F.pad(h, (self.reach * self.dilation, 0, 0, 0)))
        return out[:, :, :, :-1] if self.first else out  # first: drop the column that saw j

    def class_bias(self, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.condition is None or labels is None:
            return 0.0, 0.0
        bias = self.condition(labels)[:, :, None, None]  # (B, 4C, 1, 1)
        return bias.chunk(2, dim=1)


def gate(pre: torch.Tensor) -> torch.Tensor:
    """Gated activation tanh(a) * sigmoid(b) over the two halves of the channels."""
    a, b = pre.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedPixelCNN(AutoregressiveModel):
    config_class: ClassVar[type] = GatedPixelCNNConfig

    def __init__(self, config: GatedPixelCNNConfig):
        super().__init__(config)
        c = config.channels
        self.layers = nn.ModuleList(
            [GatedLayer(1, c, config.first_kernel // 2, True, config.num_classes)]
            + [GatedLayer(c, c, config.kernel // 2, False, config.num_classes, dilation)
               for dilation in config.dilations()[1:]])
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(c, config.head_channels, 1), nn.ReLU(),
                                  nn.Conv2d(config.head_channels, 256, 1))

    @property
    def vertical_reach(self) -> int:
        """Rows above that can influence a pixel."""
        return self.config.first_kernel // 2 + sum(
            d * (self.config.kernel // 2) for d in self.config.dilations()[1:])

    def vertical_links(self, x: torch.Tensor, labels: torch.Tensor | None) -> list[torch.Tensor]:
        """Run the vertical stack; per layer, its contribution to the horizontal stack
        (link from the vertical pre-activation plus the class bias): each (B, 2C, H, W)."""
        links, v = [], x
        for layer in self.layers:
            v_bias, h_bias = layer.class_bias(labels)
            v_pre = layer.vertical_pre(v) + v_bias
            links.append(layer.vertical_to_horizontal(v_pre) + h_bias)
            v = gate(v_pre)
        return links

    def horizontal_logits(self, x: torch.Tensor, links: list[torch.Tensor]) -> torch.Tensor:
        """Horizontal stack + head on any column crop (cols 0..j or a window ending at j
        that covers the reach): (B, 1, H', W') inputs -> (B, 256, H', W') logits."""
        h = x
        for index, (layer, link) in enumerate(zip(self.layers, links)):
            out = layer.horizontal_out(gate(layer.horizontal_pre(h) + link))
            h = out if index == 0 else h + out  # residual on the horizontal stack
        return self.head(h)

    def logits_from_float(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """x: (B, 1, H, W) floats in [-1, 1] -> logits (B, 256, H, W)."""
        return self.horizontal_logits(x, self.vertical_links(x, labels))

    def make_fast_stepper(self, images: torch.Tensor, labels: torch.Tensor | None
                          ) -> Callable[[int], torch.Tensor]:
        """Row cache: the vertical stack once per row, the horizontal stack on the current
        row's columns 0..c per pixel. Exact: same logits as the full network."""
        height, width = images.shape[-2:]
        reach = self.vertical_reach
        cache: dict[str, object] = {"row": -1, "links": None}

        def step(k: int) -> torch.Tensor:
            r, c = divmod(k, width)
            x = self.to_input(images)
            if cache["row"] != r:
                top = max(0, r - reach)  # rows above the reach cannot influence row r
                links = self.vertical_links(x[:, :, top:r + 1], labels)
                cache["links"], cache["row"] = [link[:, :, -1:] for link in links], r
            row_links = [link[:, :, :, :c + 1] for link in cache["links"]]
            return self.horizontal_logits(x[:, :, r:r + 1, :c + 1], row_links)[:, :, 0, -1]

        return step

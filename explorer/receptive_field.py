"""Receptive fields measured, not drawn: which earlier pixels can change a model's
prediction for pixel k, from the gradient |d logits_k / d x| on a given image.

Stacked masked convolutions leave a blind spot above and to the right of the current pixel
(van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders", fig. 1);
the gated PixelCNN's vertical and horizontal stacks do not, and its reach grows with depth
and dilation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.models.autoregressive import AutoregressiveModel

DISPLAY_FLOOR = 1e-6  # influences below this fraction of the largest are drawn as zero


@dataclass
class InfluenceMap:
    """The measured receptive field of one pixel on one image."""

    position: int  # k, scanline index of the predicted pixel
    row: int
    col: int
    influence: np.ndarray  # (H, W) float |d logits_k / d x|, zero where no path exists
    influencing: int  # earlier pixels (index < k) with non-zero influence
    earlier: int  # pixels before k (= k)
    rows_reached: int  # how many rows above the pixel the influence reaches

    @property
    def covers_every_earlier_pixel(self) -> bool:
        return self.influencing == self.earlier

    def missed_by_kind(self) -> tuple[int, int]:
        """Earlier pixels with no influence, split: (in the blind spot, i.e. in a row above
        and to the right of the pixel's column; elsewhere, i.e. beyond the stack's reach)."""
        height, width = self.influence.shape
        rows, cols = np.divmod(np.arange(height * width), width)
        missed = (self.influence.ravel() == 0) & (np.arange(height * width) < self.position)
        blind = missed & (rows < self.row) & (cols > self.col)
        return int(blind.sum()), int((missed & ~blind).sum())

    def display(self) -> np.ndarray:
        """log10 of the influence relative to the largest, shifted to 0..6 for a colour
        scale: 6 is the strongest pixel, 0 anything below 1e-6 of it; NaN (drawn as a gap)
        where there is no influence at all, so a pixel the model cannot see never looks
        like one it barely sees; (H, W) float."""
        top = max(float(self.influence.max()), 1e-30)
        shown = np.log10(DISPLAY_FLOOR + self.influence / top) + 6
        return np.where(self.influence == 0, np.nan, shown)


def influence_map(model: AutoregressiveModel, image: torch.Tensor, label: int | None,
                  position: int) -> InfluenceMap:
    """Measure pixel `position`'s receptive field on a uint8 image (H, W) or (1, 1, H, W).

    Raises ValueError when position is outside the image.
    """
    height, width = image.shape[-2:]
    if not 0 <= position < height * width:
        raise ValueError(f"position must be in 0..{height * width - 1}, got {position}")
    influence = model.influence(image, label, position).detach().cpu().numpy()
    row, col = divmod(position, width)
    earlier = influence.ravel()[:position]
    reached = np.flatnonzero(influence.any(axis=1))
    rows_reached = int(row - reached.min()) if reached.size else 0
    return InfluenceMap(position, row, col, influence, int((earlier > 0).sum()), position,
                        rows_reached)


def describe(maps: dict[str, InfluenceMap]) -> str:
    """A caption computed from the measured maps (model name -> map): which models reach
    every earlier pixel on this image and which miss some, with the counts and where the
    missed pixels lie."""
    if not maps:
        return ""
    parts = []
    for name, field in maps.items():
        if field.earlier == 0:
            parts.append(f"{name}: the first pixel depends on no earlier pixel")
        elif field.covers_every_earlier_pixel:
            parts.append(f"{name} reaches all {field.earlier} earlier pixels")
        else:
            blind, beyond = field.missed_by_kind()
            if blind and beyond:
                where = (f": {blind} in the blind spot above and to the right and {beyond} "
                         "beyond its reach")
            else:  # one kind: said once ("misses 55: 55 in the blind spot" repeated it)
                where = (", all in the blind spot above and to the right" if blind
                         else ", all beyond its reach")
            parts.append(f"{name} reaches {field.influencing} of {field.earlier} earlier "
                         f"pixels and misses {blind + beyond}{where}")
    return "; ".join(parts) + "."

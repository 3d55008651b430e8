"""The order of subpixels in an autoregressive model of colour images (van den Oord et al.
2016, "Pixel Recurrent Neural Networks", sec. 3.4): pixels in scanline order, and within a
pixel R, then G, then B, each conditioned on every earlier pixel and on the channels of the
same pixel before it: p(x_i) = p(R_i | x_<i) p(G_i | x_<i, R_i) p(B_i | x_<i, R_i, G_i)."""

from __future__ import annotations

import numpy as np

CHANNELS = ("R", "G", "B")


def position(step: int, width: int) -> tuple[int, int, int]:
    """Sampling step k (0-based) -> (row, column, channel index)."""
    pixel, channel = divmod(int(step), 3)
    row, col = divmod(pixel, width)
    return row, col, channel


def context(step: int, height: int, width: int) -> np.ndarray:
    """(H, W, 3) bool: the subpixels that step k is conditioned on (all earlier steps)."""
    if not 0 <= step < height * width * 3:
        raise ValueError(f"step must be in 0..{height * width * 3 - 1}")
    flat = np.zeros(height * width * 3, dtype=bool)
    flat[:step] = True
    return flat.reshape(height, width, 3)


def channel_mask(mask_type: str = "A") -> np.ndarray:
    """(3, 3) 0/1 connections between the colour channels of the centre pixel in a masked
    convolution, output channel (rows) from input channel (columns). Mask A (first layer)
    hides a channel from itself; mask B (later layers) lets it see its own features."""
    if mask_type not in ("A", "B"):
        raise ValueError("mask_type is 'A' or 'B'")
    return np.tril(np.ones((3, 3), dtype=int), k=-1 if mask_type == "A" else 0)


def factorisation(step: int, width: int) -> str:
    """The conditional sampled at step k in words, e.g. 'p(G at (0, 1) | 4 earlier
    subpixels: every earlier pixel, and R of this pixel)'."""
    row, col, channel = position(step, width)
    same = ", ".join(CHANNELS[:channel])
    pixels = row * width + col
    return (f"p({CHANNELS[channel]} at row {row}, column {col} | {step} earlier subpixels: "
            f"all 3 channels of {pixels} earlier pixel{'s' if pixels != 1 else ''}"
            + (f", and {same} of this pixel)" if same else ")"))

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
    """The conditional sampled at step k, in the notation of the chain rule above it
    (markdown with $...$ math, pixels numbered from 0 in scanline order), then in words,
    e.g. 'Step 4 samples $p(G_{1} \\mid x_{<1}, R_{1}){:}$ pixel 1 (row 0, column 1), given
    4 earlier subpixels: all 3 channels of 1 earlier pixel, and R of this pixel'."""
    row, col, channel = position(step, width)
    pixel = row * width + col
    earlier = ", ".join(f"{c}_{{{pixel}}}" for c in CHANNELS[:channel])
    given = ", ".join(part for part in (f"x_{{<{pixel}}}" if pixel else "", earlier) if part)
    term = (f"p({CHANNELS[channel]}_{{{pixel}}} \\mid {given})" if given
            else f"p({CHANNELS[channel]}_{{{pixel}}})")
    same = " and ".join(CHANNELS[:channel])
    if step == 0:
        return f"Step 0 samples ${term}{{:}}$ pixel 0 (row 0, column 0), the first subpixel, given nothing"
    words = (f"all 3 channels of {pixel} earlier pixel{'s' if pixel != 1 else ''}"
             if pixel else "")
    words = ", and ".join(part for part in (words, f"{same} of this pixel" if same else "")
                          if part)
    return (f"Step {step} samples ${term}{{:}}$ pixel {pixel} (row {row}, column {col}), given "
            f"{step} earlier subpixel{'s' if step != 1 else ''}: {words}")

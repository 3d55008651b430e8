"""Image helpers: arrays to PNG bytes (crisp upscaling) and uploads to MNIST-like 28x28."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] (values outside are clipped) or uint8 -> uint8 array."""
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array
    return (np.clip(np.nan_to_num(array, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def png_bytes(image: np.ndarray, scale: int = 8) -> bytes:
    """A (H, W) grey image in [0, 1] or uint8 as PNG bytes, upscaled with nearest neighbour
    so each pixel stays a crisp square on a projector."""
    array = to_uint8(np.squeeze(image))
    picture = Image.fromarray(array, mode="L")
    if scale > 1:
        picture = picture.resize((array.shape[1] * scale, array.shape[0] * scale),
                                 Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


def grid(images: np.ndarray, columns: int, pad: int = 1, pad_value: float = 0.25) -> np.ndarray:
    """(N, H, W) -> one (rows*(H+pad)-pad, columns*(W+pad)-pad) tiled image."""
    images = np.asarray(images, dtype=np.float32).reshape(-1, *np.shape(images)[-2:])
    count, height, width = images.shape
    rows = max(1, -(-count // columns))
    out = np.full((rows * (height + pad) - pad, columns * (width + pad) - pad), pad_value,
                  dtype=np.float32)
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        out[r * (height + pad):r * (height + pad) + height,
            c * (width + pad):c * (width + pad) + width] = image
    return out

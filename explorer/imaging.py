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


# ---- turning user images into MNIST-like inputs --------------------------------------
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_SIDE = 4096
BLANK_THRESHOLD = 0.1  # peak intensity below this counts as an empty drawing


class ImageInputError(ValueError):
    """An upload or drawing cannot be used; the message says why, for the user."""


def mnist_like(intensity: np.ndarray) -> np.ndarray:
    """Bright strokes on dark (H, W) floats in [0, 1] -> uint8 (28, 28) preprocessed as MNIST:
    the digit's bounding box scaled to fit 20x20 (aspect kept), then centred by its centre
    of mass in a 28x28 frame (LeCun et al.'s description of the data set)."""
    intensity = np.nan_to_num(np.asarray(intensity, dtype=np.float32))
    if intensity.ndim != 2 or intensity.size == 0:
        raise ImageInputError("Expected a single grey image.")
    if intensity.max() < BLANK_THRESHOLD:
        raise ImageInputError("The image is blank: draw or upload a digit first.")
    rows, cols = np.nonzero(intensity > BLANK_THRESHOLD * intensity.max())
    crop = intensity[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    side = max(crop.shape)
    square = np.zeros((side, side), dtype=np.float32)
    top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    square[top:top + crop.shape[0], left:left + crop.shape[1]] = crop
    picture = Image.fromarray(to_uint8(square / max(square.max(), 1e-6)), mode="L")
    small = np.asarray(picture.resize((20, 20), Image.LANCZOS), dtype=np.float32) / 255.0
    frame = np.zeros((28, 28), dtype=np.float32)
    frame[4:24, 4:24] = small
    total = frame.sum()
    ys, xs = np.indices(frame.shape)
    shift_y = int(round(13.5 - (ys * frame).sum() / total))
    shift_x = int(round(13.5 - (xs * frame).sum() / total))
    frame = np.roll(frame, (np.clip(shift_y, -4, 4), np.clip(shift_x, -4, 4)), axis=(0, 1))
    return to_uint8(frame)


def upload_to_mnist(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Uploaded file bytes -> (preview of the grey input, MNIST-like uint8 28x28).

    Any size or colour mode is accepted up to 10 MB and 4096 px a side; light paper with
    dark ink is inverted to MNIST's white-on-black.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageInputError(f"The file is {len(data) / 2**20:.1f} MB; the limit is 10 MB.")
    try:
        picture = Image.open(io.BytesIO(data))
        width, height = picture.size
        if max(width, height) > MAX_UPLOAD_SIDE:
            raise ImageInputError(f"The image is {width}x{height} px; the limit is "
                                  f"{MAX_UPLOAD_SIDE} px a side.")
        picture.load()
    except ImageInputError:
        raise
    except Exception as exc:  # PIL raises many types for non-images and broken files
        raise ImageInputError("That file is not an image PIL can read (PNG, JPEG, GIF, BMP, "
                              "WebP...).") from exc
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        backdrop = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(backdrop, picture.convert("RGBA"))
    grey = np.asarray(picture.convert("L"), dtype=np.float32) / 255.0
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 0.5:  # dark ink on light paper
        grey = 1.0 - grey
    return grey, mnist_like(grey)


def canvas_to_mnist(rgba: np.ndarray | None) -> np.ndarray:
    """A drawing canvas' RGBA array (white strokes on black or transparent) -> uint8 28x28."""
    if rgba is None:
        raise ImageInputError("Draw a digit on the canvas first.")
    rgba = np.asarray(rgba, dtype=np.float32)
    if rgba.ndim != 3 or rgba.shape[2] < 3:
        raise ImageInputError("The canvas returned an unexpected image.")
    grey = rgba[..., :3].mean(-1) / 255.0
    if rgba.shape[2] == 4:
        grey = grey * (rgba[..., 3] / 255.0)
    return mnist_like(grey)


def sampling_canvas(image: np.ndarray, position: int, scale: int = 14) -> bytes:
    """The image being generated as RGB PNG: sampled pixels in grey, pixels still to come
    in a faint blue, the last sampled pixel outlined in orange."""
    height, width = image.shape
    grey = to_uint8(np.asarray(image))
    rgb = np.repeat(grey[..., None], 3, axis=2)
    future = np.arange(height * width).reshape(height, width) >= position
    rgb[future] = (226, 232, 240)
    big = np.repeat(np.repeat(rgb, scale, 0), scale, 1)
    if 0 < position <= height * width:
        r, c = divmod(position - 1, width)
        top, left, edge = r * scale, c * scale, max(2, scale // 5)
        orange = (249, 115, 22)
        cell = big[top:top + scale, left:left + scale]  # a view: drawing on it draws on big
        cell[:, :edge] = cell[:, -edge:] = cell[:edge] = cell[-edge:] = orange
    buffer = io.BytesIO()
    Image.fromarray(big, mode="RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()

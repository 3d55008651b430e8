"""Animated GIFs of what the pages show, for lecture notes: a sampling run pixel by pixel, a
latent traversal and an interpolation. Pillow writes the GIF; no other dependency."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from explorer import imaging


def gif_bytes(frames: list[np.ndarray], scale: int = 6, frame_ms: int = 80,
              last_frame_ms: int = 1200) -> bytes:
    """Frames (each (H, W) grey in [0, 1] or uint8, or (H, W, 3) uint8 RGB) as a looping GIF,
    each pixel drawn as a scale x scale block; the last frame is held longer.

    Raises ValueError for no frames or frames of different shapes.
    """
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    if len({np.asarray(f).shape for f in frames}) != 1:
        raise ValueError("all frames must have the same shape")
    pictures = []
    for frame in frames:
        array = np.asarray(frame)
        if array.ndim == 2:
            array = imaging.to_uint8(array)
        big = np.repeat(np.repeat(array, scale, 0), scale, 1)
        pictures.append(Image.fromarray(big).convert("P", palette=Image.ADAPTIVE, colors=256))
    buffer = io.BytesIO()
    durations = [frame_ms] * (len(pictures) - 1) + [last_frame_ms]
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=durations, loop=0, optimize=False, disposal=1)
    return buffer.getvalue()


def frame_count(gif: bytes) -> int:
    """How many frames a GIF holds."""
    with Image.open(io.BytesIO(gif)) as picture:
        return getattr(picture, "n_frames", 1)


def sampling_frames(image: np.ndarray, position: int, every: int = 28) -> list[np.ndarray]:
    """The sampling run of a (H, W) uint8 image up to `position` pixels, one RGB frame every
    `every` pixels (a row by default) and the final one: the canvas the page shows."""
    height, width = image.shape
    stops = list(range(0, position, every)) + [position]
    frames = []
    for stop in stops:
        partial = np.array(image, dtype=np.uint8, copy=True)
        partial.reshape(-1)[stop:] = 0
        canvas = imaging.sampling_canvas(partial, stop, scale=1)
        frames.append(np.asarray(Image.open(io.BytesIO(canvas)).convert("RGB")))
    return frames


def there_and_back(frames: list[np.ndarray]) -> list[np.ndarray]:
    """A sequence followed by its reverse (without repeating the ends): a smooth loop."""
    return list(frames) + list(frames[-2:0:-1])

"""Image helpers: arrays to PNG bytes (crisp upscaling) and uploads to MNIST-like 28x28."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] (values outside are clipped) or uint8 -> uint8 array."""
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array
    return (np.clip(np.nan_to_num(array, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def png_bytes(image: np.ndarray, scale: int = 8) -> bytes:
    """A (H, W) grey image in [0, 1] or uint8 as PNG bytes, upscaled with nearest neighbour
    so each pixel stays a crisp square on a projector."""
    return _encode(Image.fromarray(to_uint8(np.squeeze(image)), mode="L"), scale)


def _encode(picture: Image.Image, scale: int) -> bytes:
    """PNG bytes of `picture`, upscaled `scale` times with nearest neighbour."""
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


# anchors of a perceptually ordered dark-to-bright scale (after matplotlib's "inferno")
HEAT_ANCHORS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9],
                         [252, 255, 164]], dtype=np.float64)


def heat_png(values: np.ndarray, vmax: float, scale: int = 6) -> bytes:
    """A (H, W) map of non-negative values (e.g. bits per pixel) as colour PNG bytes: 0 is
    black, `vmax` and above the brightest yellow, in between along HEAT_ANCHORS; NaN is
    drawn as 0. Upscaled with nearest neighbour, like png_bytes. Raises ValueError for
    vmax <= 0."""
    if not vmax > 0:
        raise ValueError("vmax must be positive")
    level = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)) / vmax, 0, 1)
    position = level * (len(HEAT_ANCHORS) - 1)
    low = np.minimum(position.astype(int), len(HEAT_ANCHORS) - 2)
    weight = (position - low)[..., None]
    rgb = HEAT_ANCHORS[low] * (1 - weight) + HEAT_ANCHORS[low + 1] * weight
    return _encode(Image.fromarray(np.round(rgb).astype(np.uint8), mode="RGB"), scale)


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
MAX_UPLOAD_PIXELS = 4096 * 4096  # 16.8 Mpx: a phone photo fits; 64 MB as float32
BLANK_THRESHOLD = 0.1  # peak intensity below this counts as an empty drawing
OPAQUE = 0.5  # alpha above which a pixel counts as drawn when judging the ink colour
# ITU-R BT.601 luma, the weights Pillow's own convert("L") uses.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


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


def _too_large(width: int, height: int) -> ImageInputError:
    return ImageInputError(f"The image is too large: {width}x{height} px. The limit is "
                           f"{MAX_UPLOAD_SIDE} px a side and {MAX_UPLOAD_PIXELS / 1e6:.1f} "
                           "million pixels; scale it down first.")


def open_upload(data: bytes) -> Image.Image:
    """Uploaded bytes -> a decoded, upright PIL image (first frame), size checked first.

    Raises ImageInputError: "too large" for more than MAX_UPLOAD_BYTES, MAX_UPLOAD_SIDE
    px a side or MAX_UPLOAD_PIXELS (decided from the header, before decoding, and also
    when Pillow itself flags a decompression bomb), "not an image" for anything Pillow
    cannot decode. The EXIF orientation tag is applied (ImageOps.exif_transpose), so a
    phone photo tagged "rotate 90 degrees" comes out as it is shown.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageInputError(f"The file is too large: {len(data) / 2**20:.1f} MB; the limit "
                              "is 10 MB.")
    try:
        picture = Image.open(io.BytesIO(data))
        width, height = picture.size
        if max(width, height) > MAX_UPLOAD_SIDE or width * height > MAX_UPLOAD_PIXELS:
            raise _too_large(width, height)
        picture.load()
    except ImageInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Raised by Image.open past 2x Image.MAX_IMAGE_PIXELS (the warning when the app
        # runs with warnings as errors): a header that promises more pixels than is safe.
        raise ImageInputError("The image is too large: its header promises more pixels than "
                              "can be decoded safely (a decompression bomb?).") from exc
    except Exception as exc:  # PIL raises many types for non-images and broken files
        raise ImageInputError("That file is not an image PIL can read (PNG, JPEG, GIF, BMP, "
                              "WebP, TIFF...).") from exc
    try:
        return ImageOps.exif_transpose(picture)
    except Exception:  # a broken EXIF block: show the pixels as stored rather than fail
        return picture


def _scaled_numbers(values: np.ndarray, floats: bool) -> np.ndarray:
    """Single-channel 'I' (int32) or 'F' (float32) pixels -> [0, 1]. Their range is not
    fixed by the mode, so it is read from the values: [0, 1] (floats only), 0..255 or
    0..65535 are taken as full scale; anything else is stretched from its min to its max."""
    values = np.nan_to_num(values.astype(np.float64))
    low, high = float(values.min()), float(values.max())
    if low >= 0 and floats and high <= 1.0:
        return values.astype(np.float32)
    for full_scale in (255.0, 65535.0):
        if low >= 0 and high <= full_scale:
            return (values / full_scale).astype(np.float32)
    return ((values - low) / max(high - low, 1e-12)).astype(np.float32)


def grey_and_alpha(picture: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any Pillow mode -> (luminance (H, W) float32 in [0, 1], alpha (H, W) float32 in
    [0, 1] or None when the image is opaque).

    Bit depth is kept: 16-bit grey ('I;16*') is divided by 65535, not clipped to 8 bits as
    convert('L') does; 'I' and 'F' are scaled by _scaled_numbers. Colour modes (RGB, CMYK,
    YCbCr, P, ...) go through RGB and BT.601 luma. Transparency comes from an alpha band
    (LA, PA, RGBA, RGBa) or the 'transparency' entry of P, RGB and single-band images.
    """
    mode = picture.mode
    key = picture.info.get("transparency")
    if mode == "1" or mode == "L" or mode.startswith("I;16") or mode in ("I", "F"):
        raw = np.asarray(picture)
        if mode == "1":
            grey = raw.astype(np.float32)
        elif mode == "L":
            grey = raw.astype(np.float32) / 255.0
        elif mode.startswith("I;16"):
            grey = raw.astype(np.float32) / 65535.0
        else:
            grey = _scaled_numbers(raw, floats=mode == "F")
        alpha = None
        if isinstance(key, (int, float)) and not isinstance(key, bool):
            alpha = (raw != key).astype(np.float32)  # one grey value marks "see-through"
        return grey, alpha
    if mode == "LA":
        raw = np.asarray(picture, dtype=np.float32) / 255.0  # (H, W, 2)
        return raw[..., 0], raw[..., 1]
    has_alpha = picture.has_transparency_data  # an alpha band, palette alpha or a key
    rgba = np.asarray(picture.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32)
    grey = rgba[..., :3] @ LUMA / 255.0
    return grey, (rgba[..., 3] / 255.0 if has_alpha else None)


def flatten_alpha(grey: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Composite (H, W) luminance with its alpha on the background that contrasts with the
    ink: the ink is what is drawn (alpha > OPAQUE); light ink (white strokes on a
    transparent sheet) goes on black, dark ink on white. Opaque images pass unchanged;
    a fully transparent one becomes black (and is then refused as blank)."""
    if alpha is None:
        return grey
    drawn = alpha > OPAQUE
    if not drawn.any():
        return np.zeros_like(grey)
    weights = alpha[drawn]
    ink = float((grey[drawn] * weights).sum() / weights.sum())
    background = 0.0 if ink > 0.5 else 1.0
    return grey * alpha + background * (1.0 - alpha)


def upload_to_mnist(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Uploaded file bytes -> (preview (H, W) float32 in [0, 1], white strokes on black;
    MNIST-like uint8 (28, 28)).

    Every mode Pillow opens is read at its full bit depth (grey_and_alpha), turned upright
    by its EXIF orientation, and flattened on the background that contrasts with its ink
    (flatten_alpha); light paper with dark ink is then inverted to MNIST's white on black.
    Raises ImageInputError ("too large", "not an image", "blank") with a message for the
    user.
    """
    grey = flatten_alpha(*grey_and_alpha(open_upload(data)))
    grey = np.clip(np.nan_to_num(grey), 0.0, 1.0).astype(np.float32)
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

"""Uploads decode like an 8-bit, upright, opaque picture of the same drawing, whatever the
Pillow mode, EXIF orientation and ink colour; oversized headers are refused as too large.

Each case writes the same drawing in another form and checks that the MNIST-like result
correlates with the reference (the drawing as an 8-bit greyscale PNG) at >= 0.99 (0.97
for lossy JPEG), for all eight EXIF orientations.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from explorer import imaging

HEIGHT, WIDTH = 72, 48  # not square, so a missed rotation changes the shape


def drawing() -> np.ndarray:
    """A '7' with soft edges (many grey levels), white on black, (72, 48) float in [0, 1]."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)

    def stroke(y0, x0, y1, x1):  # distance to a segment -> soft line 5 px wide
        d = np.array([y1 - y0, x1 - x0])
        t = np.clip(((ys - y0) * d[0] + (xs - x0) * d[1]) / (d @ d), 0, 1)
        return np.clip(3.5 - np.hypot(ys - y0 - t * d[0], xs - x0 - t * d[1]), 0, 1)

    return np.maximum(stroke(12, 8, 12, 40), stroke(12, 40, 62, 18)).astype(np.float32)


def quantise(values: np.ndarray, levels: int = 255) -> np.ndarray:
    return np.round(values * levels) / levels


def encode(picture: Image.Image, fmt: str, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, exif=exif, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


# The transposition that stores an upright picture under each EXIF orientation: the
# inverse of what a viewer applies (6 = "rotate 90 degrees clockwise to view").
STORED = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
          4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
          6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_270}


def grey8(d):
    return Image.fromarray((quantise(d) * 255).astype(np.uint8), mode="L")


def with_alpha(ink_rgb: tuple[int, int, int], hidden_rgb: tuple[int, int, int], d):
    """Ink colour where drawn, alpha = coverage, hidden_rgb under the transparent parts."""
    coverage = quantise(d)[..., None]
    rgb = np.where(coverage > 0, np.array(ink_rgb), np.array(hidden_rgb))
    return Image.fromarray(np.concatenate([rgb, coverage * 255], -1).astype(np.uint8),
                           mode="RGBA")


def palette(d, transparent_white: bool):
    """Mode P with 256 grey entries; index 0 is transparent (and white underneath when
    transparent_white), so white strokes sit on a see-through sheet."""
    picture = Image.fromarray((quantise(d) * 255).astype(np.uint8), mode="L").convert("P")
    entries = [v for g in range(256) for v in (g, g, g)]
    if transparent_white:
        entries[:3] = [255, 255, 255]
    picture.putpalette(entries)
    picture.info["transparency"] = 0
    return picture


def cmyk(d):
    paper = (255 * (1 - quantise(d))).astype(np.uint8)
    return Image.fromarray(np.repeat(paper[..., None], 3, -1), mode="RGB").convert("CMYK")


# name -> (builds a picture from the upright drawing, file format, pixels it stands for)
CASES: dict[str, tuple[Callable[[np.ndarray], Image.Image], str]] = {
    "1": (lambda d: Image.fromarray(d > 0.5).convert("1"), "PNG"),
    "L": (grey8, "PNG"),
    "L dark ink on paper": (lambda d: grey8(1 - d), "PNG"),
    "LA white ink on transparent": (lambda d: with_alpha((255,) * 3, (255,) * 3, d)
                                    .convert("LA"), "PNG"),
    "LA black ink on transparent": (lambda d: with_alpha((0,) * 3, (0,) * 3, d)
                                    .convert("LA"), "PNG"),
    "P": (lambda d: grey8(d).convert("P"), "PNG"),
    "P white ink, transparent white": (lambda d: palette(d, True), "PNG"),
    "P white ink, transparent black": (lambda d: palette(d, False), "PNG"),
    "RGB": (lambda d: grey8(d).convert("RGB"), "PNG"),
    "RGB blue ink on paper": (lambda d: Image.fromarray(
        (255 * (1 - quantise(d)[..., None] * np.array([1.0, 1.0, 0.0]))).astype(np.uint8),
        mode="RGB"), "PNG"),
    "RGB JPEG": (lambda d: grey8(d).convert("RGB"), "JPEG"),
    "RGBA white ink, hidden white": (lambda d: with_alpha((255,) * 3, (255,) * 3, d), "PNG"),
    "RGBA white ink, hidden black": (lambda d: with_alpha((255,) * 3, (0,) * 3, d), "PNG"),
    "RGBA black ink, hidden black": (lambda d: with_alpha((0,) * 3, (0,) * 3, d), "PNG"),
    "RGBA black ink, hidden white": (lambda d: with_alpha((0,) * 3, (255,) * 3, d), "PNG"),
    "RGBA opaque": (lambda d: grey8(d).convert("RGBA"), "PNG"),
    "CMYK TIFF": (cmyk, "TIFF"),
    "CMYK JPEG": (cmyk, "JPEG"),
    "I;16": (lambda d: Image.fromarray((quantise(d, 65535) * 65535).astype(np.uint16)), "PNG"),
    "I;16 dark ink on paper": (lambda d: Image.fromarray(
        (quantise(1 - d, 65535) * 65535).astype(np.uint16)), "PNG"),
    "I 0..65535": (lambda d: Image.fromarray((quantise(d, 65535) * 65535).astype(np.int32)),
                   "TIFF"),
    "I 0..255": (lambda d: Image.fromarray((quantise(d) * 255).astype(np.int32)), "TIFF"),
    "F 0..1": (lambda d: Image.fromarray(d.astype(np.float32)), "TIFF"),
    "F 0..255": (lambda d: Image.fromarray((d * 255).astype(np.float32)), "TIFF"),
}


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a).astype(float), np.ravel(b).astype(float))[0, 1])


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    """What the 8-bit, upright, opaque PNG of the drawing gives (and of its 1-bit form)."""
    out = {}
    for name, d in (("grey", drawing()), ("bilevel", (drawing() > 0.5).astype(np.float32))):
        buffer = io.BytesIO()
        grey8(d).save(buffer, format="PNG")
        out[name] = imaging.upload_to_mnist(buffer.getvalue())
    return out


@pytest.mark.parametrize("orientation", sorted(STORED))
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_mode_and_orientation_matches_the_8_bit_upright_reference(case, orientation,
                                                                       reference):
    build, fmt = CASES[case]
    upright = build(drawing())
    transpose = STORED[orientation]
    stored = upright if transpose is None else upright.transpose(transpose)
    preview, digit = imaging.upload_to_mnist(encode(stored, fmt, orientation))
    expected_preview, expected = reference["bilevel" if case == "1" else "grey"]
    assert preview.shape == (HEIGHT, WIDTH)  # upright
    floor = 0.97 if fmt == "JPEG" else 0.99
    assert correlation(preview, expected_preview) >= floor
    assert correlation(digit, expected) >= floor


def test_the_modes_are_the_ones_named():
    """Guards the table above: each case really produces the Pillow mode it names."""
    for case, (build, fmt) in CASES.items():
        buffer = io.BytesIO()
        build(drawing()).save(buffer, format=fmt)
        mode = Image.open(io.BytesIO(buffer.getvalue())).mode
        assert mode == case.split(" ")[0], (case, mode)


def test_16_bit_grey_keeps_its_grey_levels():
    d = drawing()
    levels = (quantise(d, 65535) * 65535).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(levels).save(buffer, format="PNG")
    preview, _ = imaging.upload_to_mnist(buffer.getvalue())
    assert len(np.unique(np.round(preview * 255))) > 20
    assert np.abs(preview - levels / 65535).max() < 1e-6


def test_white_strokes_on_transparent_are_not_blank():
    buffer = io.BytesIO()
    with_alpha((255,) * 3, (255,) * 3, drawing()).save(buffer, format="PNG")
    preview, digit = imaging.upload_to_mnist(buffer.getvalue())
    assert digit.max() > 200 and preview[0, 0] == 0  # strokes bright, background dark


def test_fully_transparent_is_blank():
    buffer = io.BytesIO()
    Image.new("RGBA", (30, 30), (255, 255, 255, 0)).save(buffer, format="PNG")
    with pytest.raises(imaging.ImageInputError, match="blank"):
        imaging.upload_to_mnist(buffer.getvalue())


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header promises width x height 8-bit grey pixels, with a tiny body:
    Pillow reads the size from the header before any decoding."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_too_large_not_unreadable():
    assert 30000 * 30000 > 2 * Image.MAX_IMAGE_PIXELS  # Pillow raises DecompressionBombError
    with pytest.raises(imaging.ImageInputError, match="too large"):
        imaging.upload_to_mnist(png_header(30000, 30000))


def test_the_bomb_warning_as_an_error_is_too_large():
    assert 10000 * 10000 > Image.MAX_IMAGE_PIXELS  # Pillow warns: DecompressionBombWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(imaging.ImageInputError, match="too large"):
            imaging.upload_to_mnist(png_header(10000, 10000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(imaging.ImageInputError, match="too large"):
            imaging.upload_to_mnist(png_header(10000, 10000))


def test_the_pixel_count_limit_is_too_large(monkeypatch):
    monkeypatch.setattr(imaging, "MAX_UPLOAD_PIXELS", 1000)
    with pytest.raises(imaging.ImageInputError, match="too large"):
        imaging.upload_to_mnist(png_header(40, 30))


def test_not_an_image_stays_not_an_image():
    with pytest.raises(imaging.ImageInputError, match="not an image"):
        imaging.upload_to_mnist(b"GIF89a but not really")


def test_a_band_named_a_is_not_taken_for_alpha():
    """LAB's 'A' band is the a* colour axis, not transparency."""
    picture = grey8(drawing()).convert("RGB").convert("LAB")
    assert "A" in picture.getbands()
    grey, alpha = imaging.grey_and_alpha(picture)
    assert alpha is None and correlation(grey, drawing()) > 0.99

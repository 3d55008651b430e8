import io

import numpy as np
import pytest
from PIL import Image

from explorer import imaging


def png(array: np.ndarray, mode="L") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def test_png_bytes_upscales_crisply():
    image = np.zeros((28, 28))
    image[3, 4] = 1.0
    picture = Image.open(io.BytesIO(imaging.png_bytes(image, scale=4)))
    assert picture.size == (112, 112)
    pixels = np.asarray(picture)
    assert pixels[12:16, 16:20].min() == 255 and pixels[11, 16] == 0


def test_grid_tiles_images():
    tiles = imaging.grid(np.ones((5, 2, 3)), columns=3, pad=1, pad_value=0)
    assert tiles.shape == (2 * 3 - 1, 3 * 4 - 1)
    assert tiles[0, 3] == 0 and tiles[0, 0] == 1


def test_mnist_like_centres_and_scales_a_digit():
    canvas = np.zeros((200, 300))
    canvas[20:120, 10:40] = 1.0  # a tall bar in the corner
    out = imaging.mnist_like(canvas)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    ys, xs = np.nonzero(out > 50)
    assert 3 <= ys.min() and ys.max() <= 24  # fitted to a 20-pixel box
    centre = np.average(np.indices(out.shape).reshape(2, -1), axis=1, weights=out.ravel())
    assert np.allclose(centre, 13.5, atol=1.0)


def test_blank_drawing_is_refused():
    with pytest.raises(imaging.ImageInputError, match="blank"):
        imaging.canvas_to_mnist(np.zeros((100, 100, 4), dtype=np.uint8))
    with pytest.raises(imaging.ImageInputError):
        imaging.canvas_to_mnist(None)


def test_canvas_strokes_become_a_digit():
    rgba = np.zeros((224, 224, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[50:170, 100:120, :3] = 255
    out = imaging.canvas_to_mnist(rgba)
    assert out.max() > 200 and out[:, :3].max() == 0


def test_upload_dark_ink_on_white_paper_is_inverted():
    paper = np.full((300, 200, 3), 250, dtype=np.uint8)
    paper[50:250, 90:110] = 10
    preview, out = imaging.upload_to_mnist(png(paper, mode="RGB"))
    assert preview.shape == (300, 200)
    assert out.max() > 200 and out[0, 0] == 0


def test_upload_transparent_png_and_grey():
    rgba = np.zeros((64, 64, 4), dtype=np.uint8)
    rgba[10:50, 30:34] = (0, 0, 0, 255)
    assert imaging.upload_to_mnist(png(rgba, mode="RGBA"))[1].max() > 200


@pytest.mark.parametrize("payload, message", [
    (b"this is a text file, not a picture", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "not an image"),
    (b"0" * (imaging.MAX_UPLOAD_BYTES + 1), "10 MB"),
])
def test_bad_uploads_are_refused(payload, message):
    with pytest.raises(imaging.ImageInputError, match=message):
        imaging.upload_to_mnist(payload)


def test_huge_dimensions_are_refused_before_decoding():
    huge = png(np.zeros((10, 5000), dtype=np.uint8))
    with pytest.raises(imaging.ImageInputError, match="4096"):
        imaging.upload_to_mnist(huge)


def test_blank_upload_is_refused():
    with pytest.raises(imaging.ImageInputError, match="blank"):
        imaging.upload_to_mnist(png(np.full((50, 50), 255, dtype=np.uint8)))


def test_heat_png_runs_from_black_to_bright_and_refuses_bad_scales():
    import io

    from PIL import Image

    values = np.array([[0.0, 3.0, 6.0, 12.0, 50.0, np.nan]])
    picture = np.asarray(Image.open(io.BytesIO(imaging.heat_png(values, vmax=12.0, scale=1))))
    assert picture.shape == (1, 6, 3)
    brightness = picture[0].astype(int).sum(-1)
    assert list(brightness[:4]) == sorted(brightness[:4]) and brightness[0] < 10
    assert (picture[0, 4] == picture[0, 3]).all() and (picture[0, 5] == picture[0, 0]).all()
    with pytest.raises(ValueError):
        imaging.heat_png(values, vmax=0.0)

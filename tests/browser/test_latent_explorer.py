"""Browser: a latent slider moves and the decoded image changes; bad uploads are messages."""


import numpy as np
import pytest
from PIL import Image

from tests.browser.harness import (
    assert_no_exception,
    page_at,
    plotly_chart,
    screenshot,
    sized_page,
    tops,
    wait_idle,
)

DECODED = "decoded slider values"


def decoded_src(page) -> str:
    return page.locator(f'[data-testid="stImage"]:has-text("{DECODED}") img').first \
        .get_attribute("src")


def test_slider_changes_the_decoded_image(page, app_url):
    """The page's latent sliders are decoded in the browser: a drag changes the painted
    image; on release the server's "decoded slider values" image follows."""
    page.goto(f"{app_url}/latent_explorer")
    wait_idle(page)
    assert_no_exception(page)
    before = decoded_src(page)
    slider = page.locator("input.ld-range").first
    slider.wait_for()
    canvas = page.locator("canvas.ld-image").first
    painted = canvas.evaluate("c => c.toDataURL()")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.2 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.9 * box["width"], y, steps=8)
    page.wait_for_function("([c, old]) => c.toDataURL() !== old", arg=[canvas.element_handle(),
                                                                   painted])
    page.mouse.up()
    wait_idle(page)
    page.wait_for_function(
        "([caption, old]) => { const img = [...document.querySelectorAll("
        "'[data-testid=\"stImage\"]')].find(e => e.innerText.includes(caption))"
        "?.querySelector('img'); return img && img.src !== old; }", arg=[DECODED, before])
    assert decoded_src(page) != before
    assert_no_exception(page)
    screenshot(page, "latent_explorer")


def test_uploads_good_and_bad(page, app_url, tmp_path):
    page.goto(f"{app_url}/latent_explorer")
    wait_idle(page)
    page.get_by_text("Upload", exact=True).click()
    wait_idle(page)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not an image")
    page.locator('input[type="file"]').set_input_files(str(text_file))
    wait_idle(page)
    page.get_by_text("not an image PIL can read").wait_for()
    paper = np.full((120, 90), 255, dtype=np.uint8)
    paper[20:100, 40:50] = 0
    picture = tmp_path / "one.png"
    Image.fromarray(paper).save(picture)
    page.locator('input[type="file"]').set_input_files(str(picture))
    wait_idle(page)
    page.get_by_text("what the model sees", exact=False).first.wait_for()
    assert_no_exception(page)


def test_drawing_a_digit_feeds_the_sliders(page, app_url):
    page.goto(f"{app_url}/latent_explorer")
    wait_idle(page)
    page.get_by_text("Draw", exact=True).click()
    wait_idle(page)
    page.get_by_text("Draw a digit on the canvas first.").wait_for()
    canvas = page.locator("canvas.upper-canvas").first
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 110, box["y"] + 30)
    page.wait_for_timeout(300)
    page.mouse.down()
    page.wait_for_timeout(100)
    page.mouse.move(box["x"] + 112, box["y"] + 120, steps=15)
    page.mouse.move(box["x"] + 114, box["y"] + 200, steps=15)
    page.mouse.up()
    page.locator('[data-testid="stImageCaption"]', has_text="input").first.wait_for(
        timeout=30_000)
    wait_idle(page)
    assert page.get_by_text("Draw a digit on the canvas first.").count() == 0
    assert_no_exception(page)


def test_decoded_image_stays_in_view_beside_the_last_slider(browser, app_url):
    """A laptop's 1280x800: with the last of the 16 sliders scrolled into view, the image it
    moves is still on screen (the pictures column is sticky)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/latent_explorer")
        wait_idle(page)
        sliders = page.locator("input.ld-range")
        sliders.first.wait_for()
        last = sliders.nth(sliders.count() - 1)
        last.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        slider, image = last.bounding_box(), page.locator("canvas.ld-image").first.bounding_box()
        assert 0 <= slider["y"] <= 800
        middle = image["y"] + image["height"] / 2
        assert 60 <= middle <= 800, f"the decoded image's middle is at y = {middle:.0f}"
    finally:
        context.close()


def test_autoencoder_and_vae_columns_start_level(browser, app_url):
    """Captions of different lengths do not push one side's prior decodes, or their PNG
    buttons, below the other's (in projector view at 1920 the AE's caption wraps)."""
    with sized_page(browser, 1920, 1080) as page:
        page.goto(f"{app_url}/latent_explorer?latent_tab=Autoencoder+vs+VAE&projector=true")
        wait_idle(page, timeout=120)
        decodes = tops(page.locator('[data-testid="stImage"]', has_text="Decoding z"))
        assert len(decodes) == 2 and abs(decodes[0] - decodes[1]) < 2, decodes
        below = [y for y in tops(page.locator('[data-testid="stDownloadButton"]', has_text="PNG"))
                 if y > decodes[0]]  # the grids' buttons (the scatter plots' come first)
        assert len(below) == 2 and abs(below[0] - below[1]) < 2, below
        assert_no_exception(page)


PLOT_AREAS = """gd => ['', '2'].map(k => { const xa = gd._fullLayout['xaxis' + k],
    ya = gd._fullLayout['yaxis' + k];
  return [xa._offset, ya._offset, xa._length, ya._length]; })"""


@pytest.mark.parametrize("size", ["laptop", "projector"])
def test_manifold_grid_and_plane_are_level_and_the_same_size(browser, app_url, size):
    """The decoded grid stood higher and larger than the plane of encodings beside it; now
    their plot areas are squares of one size with one top, at 1280 and on a projector."""
    with page_at(browser, app_url, "latent_explorer?latent_tab=2-D+manifold", size) as page:
        chart = plotly_chart(page, "latent_manifold_chart")
        (px, py, pw, ph), (gx, gy, gw, gh) = chart.evaluate(PLOT_AREAS)
        assert abs(pw - ph) < 2 and abs(gw - gh) < 2, (pw, ph, gw, gh)  # squares
        assert abs(pw - gw) < 2 and abs(py - gy) < 2, (px, py, pw, gx, gy, gw)  # one size, level
        assert gx + gw < px and pw > 200  # side by side, not thumbnails
        assert_no_exception(page)

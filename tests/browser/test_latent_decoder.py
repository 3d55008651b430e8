"""Browser: the in-page latent decoder paints torch's pixels, follows a drag before release,
sends z back on release, plays, hovers, falls back to the server, all with no network."""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import numpy as np
import pytest

from explorer import checkpoints, latent, web_decoder
from explorer.imaging import to_uint8
from tests.browser.harness import assert_no_exception, streamlit_server, wait_idle
from tests.browser.latent_decoder_app import start_code

APP = "tests/browser/latent_decoder_app.py"
ROOT_SELECTOR = ".ld-root"
NEXT_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


@pytest.fixture(scope="module")
def decoder_url(chromium_path):
    with streamlit_server(script=APP) as url:
        yield url


@pytest.fixture(scope="module")
def models():
    return {name: checkpoints.load(checkpoints.checkpoint_dir() / name, device="cpu")[0]
            for name in ("vae16_mnist", "vae2_mnist")}


@pytest.fixture
def offline(page, decoder_url):
    """The page with every request to another host refused; yields (page, attempted hosts)."""
    attempted: list[str] = []
    local = urlparse(decoder_url).netloc

    def route(request_route):
        url = urlparse(request_route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != local:
            attempted.append(url.netloc)
            return request_route.abort()
        return request_route.continue_()

    page.context.route("**/*", route)
    yield page
    assert attempted == [], f"the page tried to reach {sorted(set(attempted))}"


def open_app(page, url: str, query: str = "") -> None:
    page.goto(f"{url}/?{query}")
    wait_idle(page)
    page.wait_for_selector(f'{ROOT_SELECTOR}[data-status="ready"]', timeout=60_000)
    page.evaluate(NEXT_FRAMES)
    assert_no_exception(page)


def view(page, script: str, arg=None):
    """Evaluate `script` (a function of the component's view) in the page."""
    return page.locator(ROOT_SELECTOR).evaluate(f"(root, arg) => ({script})(root.latentView, arg)",
                                                arg)


def canvas_levels(page) -> np.ndarray:
    """The decoded image as painted: (28, 28) grey levels read back from the canvas."""
    values = page.locator("canvas.ld-image").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
        ".filter((_, i) => i % 4 === 0))")
    return np.array(values, dtype=np.int64).reshape(28, 28)


def python_z(page) -> list[float]:
    """The z that the Python script last received, as it printed it."""
    text = page.get_by_text("z in python:").inner_text()
    return json.loads(re.search(r"\[.*\]", text).group(0))


def wait_python_z_changes(page, old: list[float]) -> list[float]:
    page.wait_for_function(
        "old => { const e = [...document.querySelectorAll('[data-testid=\"stMarkdown\"]')]"
        ".find(e => e.innerText.includes('z in python:')); "
        "return e && JSON.stringify(JSON.parse(e.innerText.match(/\\[.*\\]/)[0])) !== old; }",
        arg=json.dumps(old).replace(" ", ""))
    wait_idle(page)
    return python_z(page)


def torch_levels(model, z) -> np.ndarray:
    return to_uint8(latent.decode_arrays(model, np.asarray(z, dtype=np.float32))[0]).astype(np.int64)


def test_pixels_match_torch_for_five_codes_and_weights_are_sent_once(offline, decoder_url,
                                                                     models):
    received: list[int] = []
    offline.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(len(f))))
    open_app(offline, decoder_url, "model=vae16_mnist")
    model = models["vae16_mnist"]
    first_load = sum(received)
    exported = web_decoder.export_decoder(model)
    assert first_load > len(exported.weights)
    for case in range(5):
        code = start_code(case, 16)
        if case:
            offline.get_by_text(f"z #{case}", exact=True).click()
            wait_idle(offline)
        expected = [float(v) for v in code]
        view(offline, "async (v, z) => { while (JSON.stringify(v.z) !== JSON.stringify(z) "
                      "|| v.pending) await new Promise(requestAnimationFrame); }", expected)
        difference = np.abs(canvas_levels(offline) - torch_levels(model, code))
        assert difference.max() <= 1, f"z #{case}: {difference.max()} levels from torch"
    assert sum(received) - first_load < len(exported.weights) / 10  # never sent again


def test_image_follows_a_drag_before_release_and_z_reaches_python_on_release(offline,
                                                                             decoder_url):
    open_app(offline, decoder_url, "model=vae16_mnist")
    start = python_z(offline)
    before = canvas_levels(offline)
    slider = offline.locator("input.ld-range").first
    dim = int(slider.get_attribute("data-dim"))
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    offline.mouse.move(box["x"] + 0.1 * box["width"], y)
    offline.mouse.down()
    seen = [before]
    for fraction in (0.35, 0.6, 0.85):
        offline.mouse.move(box["x"] + fraction * box["width"], y, steps=5)
        offline.evaluate(NEXT_FRAMES)
        seen.append(canvas_levels(offline))
        assert python_z(offline) == start  # still the start: no round trip during the drag
    assert all(np.any(a != b) for a, b in zip(seen, seen[1:])), "the image froze mid-drag"
    offline.mouse.up()
    received = wait_python_z_changes(offline, start)
    released = view(offline, "v => v.z")
    assert np.allclose(received, released, atol=1e-4)
    assert released[dim] == pytest.approx(float(slider.input_value()))
    assert released[dim] > 1.5  # the pointer ended at 85 % of the track
    others = [d for d in range(len(start)) if d != dim]
    assert np.allclose(np.array(received)[others], np.array(start)[others])


def test_keyboard_moves_a_slider_and_sends_z(offline, decoder_url):
    open_app(offline, decoder_url, "model=vae16_mnist")
    slider = offline.locator("input.ld-range").nth(1)
    dim = int(slider.get_attribute("data-dim"))
    start = python_z(offline)
    slider.focus()
    for _ in range(4):
        offline.keyboard.press("ArrowRight")
    assert view(offline, "(v, d) => v.z[d]", dim) == pytest.approx(start[dim] + 0.2, abs=1e-4)
    assert wait_python_z_changes(offline, start)[dim] == pytest.approx(start[dim] + 0.2,
                                                                        abs=1e-4)


def test_plane_hover_decodes_under_the_pointer_and_play_traverses(offline, decoder_url, models):
    open_app(offline, decoder_url, "model=vae2_mnist")
    start, resting = python_z(offline), canvas_levels(offline)
    plane = offline.locator("canvas.ld-plane")
    box = plane.bounding_box()
    for fx, fy in ((0.2, 0.3), (0.8, 0.7)):
        offline.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        offline.evaluate(NEXT_FRAMES)
        hovered = view(offline, "v => v.hover")
        assert hovered[0] == pytest.approx(-3 + 6 * fx, abs=0.05)
        assert hovered[1] == pytest.approx(3 - 6 * fy, abs=0.05)
        assert np.abs(canvas_levels(offline) - torch_levels(models["vae2_mnist"],
                                                            hovered)).max() <= 1
    offline.mouse.move(box["x"] - 40, box["y"] - 40)  # leave: back to z
    offline.evaluate(NEXT_FRAMES)
    assert np.array_equal(canvas_levels(offline), resting)
    assert python_z(offline) == start  # hovering sends nothing

    offline.locator("button.ld-play").click()
    offline.wait_for_timeout(700)
    playing = view(offline, "v => [v.play && v.play.dim, v.z.slice()]")
    assert playing[0] is not None and not np.allclose(playing[1], start)
    offline.locator("button.ld-play").click()  # stop: the dimension returns to its value
    offline.evaluate(NEXT_FRAMES)
    assert np.allclose(view(offline, "v => v.z"), start, atol=1e-5)
    assert np.array_equal(canvas_levels(offline), resting)
    # a new input while a traversal plays: the sliders start from its code, and the played
    # dimension does not jump back to the old input's value when the play stops
    offline.locator("button.ld-play").click()
    offline.wait_for_timeout(300)
    offline.get_by_text("z #1").click()
    wait_idle(offline)
    for _ in range(100):  # bounded: the new start arrives with the rerun
        if not np.allclose(view(offline, "v => v.start"), start):
            break
        offline.wait_for_timeout(100)
    offline.evaluate(NEXT_FRAMES)
    assert np.allclose(view(offline, "v => v.z"), view(offline, "v => v.start"), atol=1e-5)
    assert not np.allclose(view(offline, "v => v.start"), start)


def test_damaged_weights_fall_back_to_the_server_with_a_note(offline, decoder_url):
    offline.goto(f"{decoder_url}/?model=vae16_mnist&corrupt=1")
    offline.get_by_text("could not run the in-page decoder").wait_for(timeout=60_000)
    wait_idle(offline)
    assert "CRC-32" in offline.locator('[data-testid="stAlert"]').inner_text()
    assert offline.get_by_text("server path: 16 sliders").count() == 1
    assert offline.locator('[data-testid="stSlider"]').count() == 16
    assert offline.locator(ROOT_SELECTOR).count() == 0
    assert_no_exception(offline)

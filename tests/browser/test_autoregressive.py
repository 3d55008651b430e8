"""Browser: step a few pixels, force a value, run a completion; no exception; screenshot."""

from tests.browser.harness import assert_no_exception, screenshot, sized_page, tops, wait_idle
from tests.conftest import requires_mnist


def test_step_force_and_complete(page, app_url):
    page.goto(f"{app_url}/autoregressive")
    wait_idle(page)
    for _ in range(3):
        page.get_by_role("button", name="Step 1 pixel").click()
        wait_idle(page)
    page.get_by_text("Pixels sampled").first.wait_for()
    assert "3 / 784" in page.locator('[data-testid="stMetric"]').first.inner_text()
    page.get_by_role("button", name="Step 1 row").click()
    wait_idle(page)
    field = page.get_by_role("spinbutton", name="Force to grey level")
    field.fill("255")
    field.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Force", exact=True).click()
    wait_idle(page)
    page.get_by_text("forced").first.wait_for()
    assert_no_exception(page)
    screenshot(page, "autoregressive")
    # the canvas shows no fullscreen button on hover: it stood over "Run to the end"
    page.locator(".st-key-ar_canvas img").first.hover()
    page.wait_for_timeout(300)
    toolbar = page.locator('.st-key-ar_canvas [data-testid="stElementToolbar"]')
    assert toolbar.count() == 0 or not toolbar.first.is_visible()
    page.get_by_role("tab", name="Completion").click()
    page.get_by_role("button", name="Complete it 4 times").click()
    wait_idle(page, timeout=180)
    page.get_by_text("completion 4").first.wait_for()
    assert_no_exception(page)
    # the prompt and the four completions are drawn at one size
    widths = page.locator('[data-testid="stImage"] img').evaluate_all(
        "images => images.filter(i => /kept: top|completion/.test("
        "i.closest('[data-testid=stImage]').innerText)).map(i => i.getBoundingClientRect().width)")
    assert len(widths) == 5 and max(widths) - min(widths) < 2, widths


def test_sampler_fits_one_projector_screen(browser, app_url):
    """In projector view at 1920x1080 the step buttons, the image being drawn and the 256
    bars' plot lie on the first screen (a walk found the bars starting at its bottom edge
    under the controls, the pixel's words and a note); the words and the force box follow
    the bars, whose clicks also force a level. The bars' plot is at least 260 px tall."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/autoregressive?projector=true")
        wait_idle(page, timeout=180)
        for name in ("Step 1 row", "Step 1 row", "Step 1 pixel"):
            page.get_by_role("button", name=name).click()
            wait_idle(page)
        page.get_by_text("Pixels sampled").first.wait_for()
        canvas = page.locator('[data-testid="stImage"]', has_text="Orange").locator("img")
        box = canvas.bounding_box()
        assert box["y"] + box["height"] <= 1080, f"the image being drawn ends at {box}"
        plot_bottom = page.locator(".st-key-ar_distribution .js-plotly-plot").last.evaluate(
            "gd => gd.getBoundingClientRect().top + gd._fullLayout.yaxis._offset "
            "+ gd._fullLayout.yaxis._length")
        assert plot_bottom <= 1080, f"the 256 bars' plot ends at y = {plot_bottom:.0f}"
        assert_no_exception(page)
        plot = page.locator(".stPlotlyChart .js-plotly-plot").first.evaluate(
            "gd => gd._fullLayout.yaxis._length")
        assert plot >= 260, f"the 256 bars' plot is {plot:.0f} px tall"
        # the step row's five controls (and the log-scale switch) with even gaps (equal
        # columns left them uneven), the speed's name whole
        boxes = [page.get_by_role("button", name=name, exact=True).bounding_box() for name in
                 ("Step 1 pixel", "Step 1 row", "Run to the end")]
        boxes += [page.locator('[data-testid="stSelectbox"]').last.bounding_box(),
                  page.get_by_role("button", name="Reset", exact=True).bounding_box()]
        gaps = [b["x"] - (a["x"] + a["width"]) for a, b in zip(boxes, boxes[1:])]
        assert max(gaps) - min(gaps) < 3 and min(gaps) > 0, gaps
        speed = page.get_by_role("combobox", name="Speed")  # its text is the input's value
        assert speed.input_value() == "a row per frame"
        assert speed.evaluate("e => e.scrollWidth <= e.clientWidth"), "the speed's name is cut"
    finally:
        context.close()


@requires_mnist  # the test digit and the rolled one whose name wraps need MNIST
def test_likelihood_scores_stand_level_at_1280(browser, app_url):
    """Each input's bits/dim lies on one line, however its name wraps above it ("rolled
    digit (wraps around)" took two lines at 1280 and pushed its score down)."""
    with sized_page(browser, 1280, 800) as page:
        page.goto(f"{app_url}/autoregressive?ar_tab=Likelihood")
        wait_idle(page, timeout=180)
        scores = tops(page.locator('[data-testid="stMetric"]', has_text="bits/dim"))
        assert len(scores) >= 4 and max(scores) - min(scores) < 2, scores
        assert_no_exception(page)

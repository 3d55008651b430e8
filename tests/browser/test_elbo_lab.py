"""Browser: start a run, watch the curves grow, change beta, stop; screenshot.

The lab trains on MNIST: without it the page shows what to do instead of a Start button,
so the test is skipped with that reason (try EXPLORER_DATA=/tmp/empty EXPLORER_DATA_ONLY=1).
"""

import time

from tests.browser.harness import assert_no_exception, screenshot, wait_idle
from tests.conftest import requires_mnist


def caption_step(page) -> int:
    text = page.get_by_text("step ", exact=False).filter(has_text="images/s").first.inner_text()
    return int(text.split("step ")[1].split(",")[0])


@requires_mnist
def test_train_watch_change_beta_stop(page, app_url):
    page.goto(f"{app_url}/elbo_lab")
    wait_idle(page)
    for _ in range(3):  # a click during the app's very first rerun can be dropped
        start = page.get_by_role("button", name="Start training")
        if start.count():
            start.click()
        try:
            page.get_by_text("images/s", exact=False).first.wait_for(timeout=15_000)
            break
        except Exception:
            wait_idle(page)
    page.get_by_text("images/s", exact=False).first.wait_for(timeout=30_000)
    first = caption_step(page)
    time.sleep(4)
    assert caption_step(page) > first  # the live view refreshes by itself
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="KL weight").first
    slider.locator('input[type="range"]').first.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    time.sleep(3)
    page.get_by_text("β→", exact=False).first.wait_for(timeout=30_000)  # the change, marked
    assert_no_exception(page)
    screenshot(page, "elbo_lab")
    assert_rows_level(page)
    assert_plane_beside_the_curves_on_a_projector(page, app_url)
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop", exact=True).click()
    main = page.get_by_test_id("stMainBlockContainer")  # projector view hides the sidebar's
    main.get_by_text("stopped", exact=False).first.wait_for(timeout=30_000)
    assert_no_exception(page)
    # an ended run leads to a new one in one click
    page.get_by_role("button", name="New run").click()
    page.get_by_role("button", name="Start training").wait_for(timeout=30_000)


PLOT_BOXES = """keys => keys.map(k => { const gd = document.querySelector(`.st-key-${k} .js-plotly-plot`);
  const y = gd._fullLayout.yaxis, top = gd.getBoundingClientRect().top + y._offset;
  return [top, top + y._length]; })"""


def assert_rows_level(page) -> None:
    """The live view's rows stand level (the top two charts were 28 px apart, the plane and
    the KL bars of different heights, and the bottom row's images above the histogram's
    plot): each row's plots start and end together, its images start with the plot."""
    for row in (["lab_curves_terms", "lab_curves_elbo"], ["lab_rd", "lab_kl_bars"]):
        (top_a, bottom_a), (top_b, bottom_b) = page.evaluate(PLOT_BOXES, row)
        assert abs(top_a - top_b) <= 1 and abs(bottom_a - bottom_b) <= 1, row
    widths = page.evaluate("keys => keys.map(k => document.querySelector("
                           "`.st-key-${k} .js-plotly-plot`)._fullLayout.xaxis._length)",
                           ["lab_curves_terms", "lab_curves_elbo"])
    assert abs(widths[0] - widths[1]) <= 1, widths  # one step at one x in both curves
    [(top, _)] = page.evaluate(PLOT_BOXES, ["lab_std_hist"])
    images = page.locator("figure img").evaluate_all(
        "images => images.map(i => i.getBoundingClientRect().top)")
    assert len(images) == 2 and all(abs(y - top) <= 1 for y in images), (top, images)


def assert_plane_beside_the_curves_on_a_projector(page, app_url) -> None:
    """In projector view the rate-distortion plane stood in the second row of charts, below
    a 1080-px screen: it now stands beside the loss terms, its x axis in line with theirs,
    and both end (legends and all) on the first screen, the run's controls in one row above
    them. Its plot is as tall as the chart allows (a top in line with the loss terms' plot,
    under their title and knob labels, squashed it to ~230 px and its labels collided)."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{app_url}/elbo_lab?projector=true")
    page.get_by_text("images/s", exact=False).first.wait_for(timeout=30_000)
    wait_idle(page)
    (top_a, bottom_a), (top_b, bottom_b) = page.evaluate(PLOT_BOXES, ["lab_curves_terms", "lab_rd"])
    assert abs(bottom_a - bottom_b) <= 1, (bottom_a, bottom_b)
    assert bottom_b - top_b >= 340, f"the plane's plot is {bottom_b - top_b:.0f} px tall"
    ends = page.evaluate("keys => keys.map(k => document.querySelector("
                         "`.st-key-${k} .js-plotly-plot`).getBoundingClientRect().bottom)",
                         ["lab_curves_terms", "lab_rd"])
    assert max(ends) <= 1080, ends
    assert_no_exception(page)


@requires_mnist
def test_the_computation_graph_text_has_the_size_its_boxes_were_laid_out_for(page, app_url):
    """Streamlit draws every graphviz text at ~10 px whatever the DOT says; the lab's graph
    restores the DOT's size (20 at a laptop), so the labels fill their boxes."""
    page.goto(f"{app_url}/elbo_lab?lab_tab=Reparameterization")
    wait_idle(page, timeout=120)
    label = page.locator("g.node text", has_text="encoder").first
    label.wait_for()
    assert label.evaluate("t => getComputedStyle(t).fontSize") == "20px"
    assert_no_exception(page)

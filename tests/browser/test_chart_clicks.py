"""Browser: the click-to-pick charts, clicked at their centre, corners and edges.

Each click must move the picked point to where it landed (the caption says so) and leave
no exception. The first two charts crashed with TypeError: unhashable type: 'slice' (their
customdata rows arrive as {"0": x, "1": y}); pages read clicks with explorer.selection.
"""

import re

import pytest

from tests.browser.harness import assert_no_exception, click_chart, wait_idle

SPOTS = ["centre", "top_left", "top_right", "bottom_left", "bottom_right", "left_edge",
         "right_edge", "top_edge", "bottom_edge"]
NUMBER = r"(-?\d+\.\d+)"


def signs_match(spot: str, x: float, y: float) -> bool:
    """Where the click landed, read back from the page: left half x < 0, top half y > 0."""
    expect_x = -1 if "left" in spot else 1 if "right" in spot else 0
    expect_y = 1 if "top" in spot else -1 if "bottom" in spot else 0
    return all(abs(v) < 0.5 if e == 0 else v * e > 1.0 for v, e in ((x, expect_x), (y, expect_y)))


@pytest.mark.parametrize("spot", SPOTS)
def test_gen_vs_disc_left_chart(page, app_url, spot):
    page.goto(f"{app_url}/gen_vs_disc")
    wait_idle(page, timeout=120)
    before = page.get_by_text("At x = (", exact=False).first.inner_text()
    for _ in range(3):  # a click that lands while the page still settles can be dropped
        chart = page.locator(".st-key-gvd_disc_chart .js-plotly-plot").first
        click_chart(page, chart, spot)
        wait_idle(page, timeout=120)
        assert_no_exception(page)
        caption = page.get_by_text("At x = (", exact=False).first.inner_text()
        if caption != before:
            break
    assert caption != before  # the cross moved (its default is off the clickable grid)
    x, y = (float(v) for v in re.search(rf"At x = \({NUMBER}, {NUMBER}\)", caption).groups())
    assert signs_match(spot, x, y), (spot, caption)


@pytest.mark.parametrize("spot", SPOTS)
def test_latent_manifold_plane(page, app_url, spot):
    page.goto(f"{app_url}/latent_explorer")
    wait_idle(page, timeout=120)
    page.get_by_role("tab", name="2-D manifold").click()
    wait_idle(page)
    caption = page.get_by_text("decoded z = (", exact=False).first
    for _ in range(3):  # as above: retry a dropped click, never one that crashed
        chart = page.locator(".st-key-latent_manifold_chart .js-plotly-plot").first
        click_chart(page, chart, spot)
        wait_idle(page, timeout=120)
        assert_no_exception(page)
        if caption.count():
            break
    caption.wait_for(timeout=30_000)
    x, y = (float(v) for v in re.search(rf"decoded z = \({NUMBER}, {NUMBER}\)",
                                         caption.inner_text()).groups())
    assert signs_match(spot, x, y), (spot, x, y)


DENSITY_SPOTS = ["centre", "left_edge", "right_edge", "bottom_left", "bottom_right",
                 "bottom_edge"]


@pytest.mark.parametrize("spot", DENSITY_SPOTS)
def test_density_chart_adds_a_sample_where_clicked(page, app_url, spot):
    """Clicking anywhere on the 1-D chart (also far out, where the curves lie on the axis)
    adds a training sample at that x."""
    page.goto(f"{app_url}/density")
    wait_idle(page, timeout=120)
    placed = page.get_by_text("placed)", exact=False).first
    for _ in range(3):
        chart = page.locator(".st-key-dens_chart .js-plotly-plot").first
        click_chart(page, chart, spot)
        wait_idle(page, timeout=120)
        assert_no_exception(page)
        if "(1 placed)" in placed.inner_text():
            break
    assert "(1 placed)" in placed.inner_text()


@pytest.mark.parametrize("spot", ["centre", "left_edge", "right_edge"])
def test_distribution_bars_force_the_clicked_level(page, app_url, spot):
    """Clicking the 256-way chart (even where the bars are 1 px tall) forces that level."""
    page.goto(f"{app_url}/autoregressive")
    wait_idle(page, timeout=120)
    page.get_by_role("button", name="Step 1 pixel").click()
    wait_idle(page)
    for _ in range(3):
        chart = page.locator(".st-key-ar_distribution .js-plotly-plot").first
        click_chart(page, chart, spot)
        wait_idle(page, timeout=120)
        assert_no_exception(page)
        caption = page.get_by_text("Pixel 0 (row 0, column 0)", exact=False).first.inner_text()
        if "forced" in caption:
            break
    level = int(re.search(r"took (\d+)", caption).group(1))
    expected = {"centre": 128, "left_edge": 0, "right_edge": 255}[spot]
    assert "forced" in caption and abs(level - expected) <= 3, caption


@pytest.mark.parametrize("spot", ["centre", "top_left", "bottom_right"])
def test_taxonomy_click_never_breaks_the_page(page, app_url, spot):
    """The taxonomy tree selects a family when a node is hit and ignores empty space."""
    page.goto(app_url)
    wait_idle(page, timeout=120)
    chart = page.locator(".st-key-taxonomy_chart .js-plotly-plot").first
    click_chart(page, chart, spot)
    wait_idle(page, timeout=120)
    assert_no_exception(page)
    assert page.get_by_text("Exact likelihood?").first.is_visible()

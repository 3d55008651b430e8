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

"""Browser: every chart that takes a click, clicked at its centre and at its edges.

Each click must land where it was aimed (the page reports the picked point) and leave no
exception. The generative-vs-discriminative and latent-plane charts crashed with TypeError:
unhashable type: 'slice' (their customdata rows arrive as {"0": x, "1": y}); pages read clicks
with explorer.selection. One page load per chart; a click that lands while the page still
settles can be dropped, so each is retried (never one that crashed).
"""

import re
import time

from tests.browser.harness import assert_no_exception, click_chart, wait_idle

SPOTS = ["centre", "left_edge", "right_edge", "top_edge", "bottom_edge", "top_left",
         "bottom_right"]
NUMBER = r"([−-]?\d+\.\d+)"  # pages typeset a true minus sign


def signs_match(spot: str, x: float, y: float) -> bool:
    """Where the click landed, read back from the page: left half x < 0, top half y > 0."""
    expect_x = -1 if "left" in spot else 1 if "right" in spot else 0
    expect_y = 1 if "top" in spot else -1 if "bottom" in spot else 0
    return all(abs(v) < 0.5 if e == 0 else v * e > 1.0 for v, e in ((x, expect_x), (y, expect_y)))


def click_until(page, chart_key: str, spot: str, read, previous: str) -> str:
    """Click a chart once at a spot; what `read()` shows must change at that first click
    (a view that took only every second click once passed a test that clicked again)."""
    chart = page.locator(f"[class*='st-key-{chart_key}'] .js-plotly-plot").first
    click_chart(page, chart, spot)
    wait_idle(page, timeout=120)
    assert_no_exception(page)
    shown, deadline = read(), time.time() + 15  # one click; its rerun can start late on a
    while shown == previous and time.time() < deadline:  # loaded machine (after the idle
        page.wait_for_timeout(250)  # check's quiet spell): wait for it, never click again
        wait_idle(page, timeout=120)
        shown = read()
    assert shown != previous, f"a click at {spot} on {chart_key} changed nothing: {shown}"
    return shown


def test_gen_vs_disc_left_chart(page, app_url):
    page.goto(f"{app_url}/gen_vs_disc")
    wait_idle(page, timeout=120)

    def read() -> str:
        return page.get_by_text("At x = (", exact=False).first.inner_text()

    caption = read()
    for spot in SPOTS:
        caption = click_until(page, "gvd_disc_chart", spot, read, caption)
        x, y = (float(v.replace("−", "-"))
                for v in re.search(rf"At x = \({NUMBER}, {NUMBER}\)", caption).groups())
        assert signs_match(spot, x, y), (spot, caption)


def test_latent_manifold_plane(page, app_url):
    page.goto(f"{app_url}/latent_explorer")
    wait_idle(page, timeout=120)
    page.get_by_role("tab", name="2-D manifold").click()
    wait_idle(page)

    def read() -> str:
        caption = page.get_by_text("decoded z = (", exact=False)
        return caption.first.inner_text() if caption.count() else ""

    shown = read()
    for spot in SPOTS:
        shown = click_until(page, "latent_manifold_chart", spot, read, shown)
        x, y = (float(v.replace("−", "-")) for v in re.search(rf"decoded z = \({NUMBER}, {NUMBER}\)",
                                             shown).groups())
        assert signs_match(spot, x, y), (spot, x, y)
    # the decoded grid beside the plane takes clicks too: a cell decodes its own code
    chart = page.locator("[class*='st-key-latent_manifold_chart'] .js-plotly-plot").first
    for corner, cell, sign in (("top right", -1, 1), ("bottom left", None, -1)):
        x, y = chart.evaluate(CELL_AT, [cell if cell is not None else "last_row_first"])
        page.mouse.move(x, y)
        page.wait_for_timeout(200)
        page.mouse.click(x, y)
        wait_idle(page)
        assert_no_exception(page)
        new = read()
        assert new != shown, f"a click on the grid's {corner} cell changed nothing"
        shown = new
        z = [float(v.replace("−", "-"))
             for v in re.search(rf"decoded z = \({NUMBER}, {NUMBER}\)", shown).groups()]
        assert all(v * sign > 1.0 for v in z), (corner, z)
    # the clicked code's digit stands beside the figure (under it, at 1280x800 it was below
    # the first screen when the figure's top was in view)
    digit = page.get_by_text("decoded z = (", exact=False).first.bounding_box()
    box = chart.bounding_box()
    assert digit["x"] >= box["x"] + box["width"] - 5, (digit, box)
    assert digit["y"] + digit["height"] <= box["y"] + box["height"], (digit, box)


# page px of a grid cell's centre: the top row's `cell`-th (negative counts from its end),
# or the bottom row's first for "last_row_first" (cells run row-major, top row first)
CELL_AT = """(gd, [cell]) => {
    const trace = gd._fullData.find(t => t.type === "scatter" && t.xaxis === "x2");
    const n = Math.round(Math.sqrt(trace.x.length));
    const i = cell === "last_row_first" ? n * (n - 1) : (cell + n) % n;
    const xa = gd._fullLayout.xaxis2, ya = gd._fullLayout.yaxis2;
    const box = gd.getBoundingClientRect();
    return [box.left + xa._offset + xa.l2p(trace.x[i]), box.top + ya._offset + ya.l2p(trace.y[i])];
}"""


def test_density_chart_adds_a_sample_where_clicked(page, app_url):
    """Clicking anywhere on the 1-D chart (also far out, where the curves lie on the axis)
    adds a training sample at that x."""
    page.goto(f"{app_url}/density")
    wait_idle(page, timeout=120)

    def read() -> str:
        return page.get_by_text("placed)", exact=False).first.inner_text()

    shown = read()
    # five different x (a second click at the same x is the same selection, not a new one)
    # (0.875, 1/12) and (0.1, 1/12): x = 6 and -6.4 at y = 0, where the curves lie along
    # the axis (the chart's y range starts at -0.1 of its peak)
    for count, spot in enumerate(["centre", "left_edge", "right_edge", (0.3, 0.01),
                                  (0.7, 0.99), (0.875, 1 / 12), (0.1, 1 / 12)], start=1):
        shown = click_until(page, "dens_chart", spot, read, shown)
        assert f"({count} placed)" in shown, (spot, shown)


def test_distribution_bars_force_the_clicked_level(page, app_url):
    """Clicking the 256-way chart (even where the bars are 1 px tall) forces that level."""
    page.goto(f"{app_url}/autoregressive")
    wait_idle(page, timeout=120)
    for spot, expected in (("centre", 128), ("left_edge", 0), ("right_edge", 255)):
        page.get_by_role("button", name="Step 1 pixel").click()
        wait_idle(page)

        def read() -> str:
            return page.get_by_text("took ", exact=False).first.inner_text()

        caption = click_until(page, "ar_distribution", spot, read, read())
        level = int(re.search(r"took (\d+)", caption).group(1))
        assert "forced" in caption and abs(level - expected) <= 3, (spot, caption)


def test_taxonomy_clicks_never_break_the_page(page, app_url):
    """The taxonomy tree selects a family when a node is hit and ignores empty space."""
    page.goto(app_url)
    wait_idle(page, timeout=120)
    for spot in ("centre", "top_left", "bottom_right", "left_edge"):
        chart = page.locator(".st-key-taxonomy_chart .js-plotly-plot").first
        click_chart(page, chart, spot)
        wait_idle(page, timeout=120)
        assert_no_exception(page)
        assert page.get_by_text("Exact likelihood?").first.is_visible()

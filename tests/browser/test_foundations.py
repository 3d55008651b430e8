"""Browser: the foundations pages paint, their main controls move, no exception."""

import pytest

from tests.browser.harness import (
    assert_no_exception,
    page_at,
    plotly_chart,
    screenshot,
    sized_page,
    tops,
    wait_idle,
)


def nudge_first_slider(page) -> None:
    page.locator('[data-testid="stSlider"] input[type="range"]').first.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    wait_idle(page)


def test_density_page(page, app_url):
    page.goto(f"{app_url}/density")
    wait_idle(page)
    nudge_first_slider(page)
    page.get_by_role("button", name="50 steps").click()
    wait_idle(page)
    page.get_by_text("mixture MLE (50 steps)").first.wait_for()
    assert_no_exception(page)
    screenshot(page, "density")


def test_gen_vs_disc_page(page, app_url):
    page.goto(f"{app_url}/gen_vs_disc")
    wait_idle(page, timeout=120)
    nudge_first_slider(page)
    page.get_by_text("Bayes' rule recovers", exact=False).first.wait_for()
    assert page.locator(".katex").count() > 3  # the table's headers and the caption typeset
    assert_no_exception(page)
    screenshot(page, "gen_vs_disc")


def test_the_three_toy_plots_stand_level_with_three_classes(browser, app_url):
    """With three classes a legend under each plot wrapped beside one that did not, and the
    third plot sat lower: the plots start level whatever the classes."""
    with sized_page(browser, 1280, 800) as page:
        page.goto(f"{app_url}/gen_vs_disc?gvd_toy=mixture")
        wait_idle(page, timeout=180)
        page.locator(".js-plotly-plot").nth(2).wait_for()  # all three drawn
        plots = tops(page.locator(".js-plotly-plot .nsewdrag"))[:3]
        assert len(plots) == 3 and max(plots) - min(plots) <= 1, plots
        # each colour bar right above its square (under it, it floated ~80 px below at 1280)
        gaps = page.locator(".js-plotly-plot").evaluate_all(
            "charts => charts.slice(0, 3).map(gd => gd.querySelector('.nsewdrag')"
            ".getBoundingClientRect().top - gd.querySelector('.colorbar')"
            ".getBoundingClientRect().bottom)")
        assert all(0 <= gap <= 16 for gap in gaps), gaps
        # and little empty space under each square (~150 px of it at a height of 380)
        under = page.locator(".js-plotly-plot").evaluate_all(
            "charts => charts.slice(0, 3).map(gd => gd.getBoundingClientRect().bottom - "
            "gd.querySelector('.nsewdrag').getBoundingClientRect().bottom)")
        assert all(under_one <= 130 for under_one in under), under  # ticks, title: ~70 px
        assert_no_exception(page)


BARS_AND_PICTURES = """gd => [[...gd.querySelectorAll('.bars .point path')],
  [...gd.querySelectorAll('.imagelayer image')]].map(found => found.map(e => {
    const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top, r.bottom]; }))"""


@pytest.mark.parametrize("size", ["laptop", "projector"])
def test_each_input_stands_under_its_own_bars(browser, app_url, size):
    """The Images tab showed its four inputs in a row of their own, lined up with neither
    chart's bars (walk 18). Each chart now draws them under its bars; on a projector both
    charts end on the first screen."""
    with page_at(browser, app_url, "gen_vs_disc?gvd_tab=Images", size) as page:
        for key in ("gvd_conf", "gvd_bits"):
            chart = plotly_chart(page, key)
            bars, pictures = chart.evaluate(BARS_AND_PICTURES)
            assert len(bars) == len(pictures) == 4, (bars, pictures)
            for bar, picture in zip(bars, pictures):
                assert abs(bar[0] - picture[0]) <= 2, (bar, picture)  # centred under it
                assert picture[1] >= bar[2] - 1  # below the bar, which ends at the zero line
                assert picture[2] - picture[1] >= (40 if size == "laptop" else 80)  # visible
            if size == "projector":
                assert chart.bounding_box()["y"] + chart.bounding_box()["height"] <= 1080
        assert_no_exception(page)


LEGEND_AND_PLOT = """gd => { const ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect(),
    legend = gd.querySelector('.legend').getBoundingClientRect();
  return [box.top + ya._offset, box.top + ya._offset + ya._length, legend.bottom]; }"""


@pytest.mark.parametrize("size", ["laptop", "projector"])
def test_the_fits_chart_is_in_view_and_its_legend_off_the_curves(browser, app_url, size):
    """Projector view at 1920x1080: the 1-D fits' chart was below the fold (intro, three
    rows of controls and the "Leave projector view" row above it). The way back now stands
    in the header's band, the controls beside the chart, and the whole plot area is on the
    first screen. At 1280 the narrower chart's legend takes three rows: it stays above the
    plot instead of covering the curves' peaks."""
    with page_at(browser, app_url, "density", size) as page:
        chart = plotly_chart(page, "dens_chart")
        for _ in range(10):  # plotly's automargin lays the chart out twice: let it settle
            top, bottom, legend = chart.evaluate(LEGEND_AND_PLOT)
            if legend <= top + 1:
                break
            page.wait_for_timeout(300)
        assert legend <= top + 1, (legend, top)
        # the scores follow the chart's caption closely: at 360 px the chart was so much
        # shorter than the controls beside it that ~100 px lay empty between the two
        caption = page.get_by_text("Click anywhere on the chart to add").bounding_box()
        scores = page.get_by_text("Mean log p per sample").bounding_box()
        assert scores["y"] - (caption["y"] + caption["height"]) <= 80, (caption, scores)
        if size == "laptop":
            return
        assert 0 < top and bottom <= 1080, (top, bottom)
        leave = page.get_by_role("button", name="Leave projector view")
        box = leave.bounding_box()
        assert box["y"] + box["height"] <= 90, box  # in the header's band
        leave.click()  # still clickable there
        wait_idle(page)
        page.locator('section[data-testid="stSidebar"]').wait_for(state="visible",
                                                                  timeout=20_000)
        assert_no_exception(page)

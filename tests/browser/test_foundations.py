"""Browser: the foundations pages paint, their main controls move, no exception."""

from tests.browser.harness import assert_no_exception, screenshot, sized_page, tops, wait_idle


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
        assert_no_exception(page)

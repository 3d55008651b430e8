"""Browser: step a few pixels, force a value, run a completion; no exception; screenshot."""

from tests.browser.harness import assert_no_exception, screenshot, wait_idle


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
    field = page.get_by_label("Force this pixel to grey level")
    field.fill("255")
    field.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Force", exact=True).click()
    wait_idle(page)
    page.get_by_text("forced").first.wait_for()
    assert_no_exception(page)
    screenshot(page, "autoregressive")
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

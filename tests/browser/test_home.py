"""Browser: every page opens with no exception; the home page's family picker works."""

import time

import pytest

from app_pages.common import existing_pages
from tests.browser.conftest import PAGE_LOAD_TIMES
from tests.browser.harness import assert_no_exception, screenshot, wait_idle


def url_path(page_path: str) -> str:
    stem = page_path.split("/")[-1].removesuffix(".py")
    return "" if stem == "home" else stem


@pytest.mark.parametrize("path", [p.path for p in existing_pages()])
def test_page_opens_without_exception(page, app_url, path):
    started = time.perf_counter()
    page.goto(f"{app_url}/{url_path(path)}")
    wait_idle(page)
    PAGE_LOAD_TIMES[path] = round(time.perf_counter() - started, 2)
    assert page.locator("h1").count() >= 1
    assert_no_exception(page)


def test_home_taxonomy_picker(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    assert page.get_by_text("Autoregressive", exact=True).first.is_visible()
    picker = page.locator('[data-testid="stSelectbox"]').first
    picker.click()
    page.keyboard.type("Direct (GAN)")
    page.keyboard.press("Enter")
    wait_idle(page)
    page.get_by_role("heading", name="Direct (GAN)").wait_for()
    assert_no_exception(page)
    # clicking a node of the tree selects its family (7th node: Variational (VAE))
    page.locator(".js-plotly-plot .scatterlayer .trace .points path").nth(6).click(force=True)
    wait_idle(page)
    page.get_by_role("heading", name="Variational (VAE)").wait_for()
    page.get_by_role("link", name="Explore it in this app").wait_for()
    assert_no_exception(page)
    screenshot(page, "home")

"""Browser: a presenter and two followers; three controls changed on the presenter show on
both followers, which watch the presentation's version file; one follower detaches and
rejoins; a sampling run downloads as a GIF with one frame per row."""

import io
import re
import time

from PIL import Image

from tests.browser.harness import assert_no_exception, wait_idle


def metric(page, label: str) -> str:
    return page.locator('[data-testid="stMetric"]').filter(has_text=label).first.inner_text()


def wait_until(check, timeout: float = 30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def seed_of(page) -> str:
    return page.get_by_label("Seed", exact=True).first.input_value()


def test_followers_match_the_presenter_and_can_detach(browser, app_url):
    contexts = [browser.new_context(viewport={"width": 1400, "height": 900}) for _ in range(3)]
    lead, first, second = (context.new_page() for context in contexts)
    watched = {first: [], second: []}  # the followers' reads of the presentation's version
    for follower, statuses in watched.items():
        follower.on("response", lambda response, statuses=statuses: statuses.append(
            response.status) if "/app/static/follow/" in response.url else None)
    try:
        lead.goto(f"{app_url}/autoregressive")
        wait_idle(lead)
        lead.get_by_role("button", name="Present").click()
        wait_idle(lead)
        link = lead.locator("code").filter(has_text="follow=").first.inner_text().strip()
        code = re.search(r"follow=(\w+)", link).group(1)
        for follower in (first, second):
            follower.goto(f"{app_url}/?follow={code}")
            wait_idle(follower)
        # three controls on the presenter: seed, class, then one row of pixels
        seed = lead.get_by_label("Seed", exact=True).first
        seed.fill("5")
        seed.press("Enter")
        wait_idle(lead)
        lead.locator('[data-testid="stSelectbox"]').filter(has_text="Class").first.click()
        lead.keyboard.type("3")
        lead.keyboard.press("Enter")
        wait_idle(lead)
        lead.get_by_role("button", name="Step 1 row").click()
        wait_idle(lead)
        for follower in (first, second):
            assert wait_until(lambda f=follower: "28 / 784" in metric(f, "Pixels sampled")
                              and seed_of(f) == "5"), metric(follower, "Pixels sampled")
            assert_no_exception(follower)
            assert follower.get_by_role("button", name="Step 1 pixel").count() == 0
        # one follower explores on its own, then rejoins
        first.get_by_role("button", name="Explore on my own").click()
        wait_idle(first)
        lead.get_by_role("button", name="Step 1 pixel").click()
        wait_idle(lead)
        assert wait_until(lambda: "29 / 784" in metric(lead, "Pixels sampled")), \
            metric(lead, "Pixels sampled")  # the presenter's own click took
        assert wait_until(lambda: "29 / 784" in metric(second, "Pixels sampled")), \
            metric(second, "Pixels sampled")
        # the followers learnt of the changes from the version file, not by polling the server
        assert watched[second] and set(watched[second]) == {200}, watched[second][:5]
        time.sleep(2)
        assert "28 / 784" in metric(first, "Pixels sampled")  # detached: not following
        first.get_by_role("button", name=re.compile("Follow .* again")).click()
        assert wait_until(lambda: "29 / 784" in metric(first, "Pixels sampled"))
        # the presenter's run so far as a GIF: rows 0 and 1 plus the last pixel
        with lead.expect_download() as download:
            lead.get_by_role("button", name="Save the sampling run as a GIF").click()
        gif = Image.open(io.BytesIO(open(download.value.path(), "rb").read()))
        assert download.value.suggested_filename.endswith(".gif")
        assert "seed5" in download.value.suggested_filename
        assert gif.n_frames == 3  # 0 pixels, 28 (a row), 29
    finally:
        for context in contexts:
            context.close()

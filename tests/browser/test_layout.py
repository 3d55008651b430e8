"""Browser: every page at a laptop's 1280x800 (every tab) and a projector's 1920x1080, and
one in the projector view. No exception, a screenshot each, and no chart text clipped: every
tick label, axis title, legend entry and annotation lies inside its chart."""

import pytest

from tests.browser.harness import (
    assert_no_exception,
    click_chart,
    page_at,
    plotly_chart,
    screenshot,
    sized_page,
    wait_idle,
)

PAGES = ["", "density", "gen_vs_disc", "autoregressive", "latent_explorer", "elbo_lab"]
SIZES = {"laptop": (1280, 800), "projector": (1920, 1080)}

CLIPPED_TEXT = """() => {
  const clipped = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const box = plot.getBoundingClientRect();
    if (box.width === 0) continue;  // a chart in a hidden tab
    const texts = plot.querySelectorAll(
      '.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .g-y2title text, '
      + '.legendtext, .annotation-text, .gtitle, .colorbar text, .textpoint text');
    for (const t of texts) {
      const r = t.getBoundingClientRect();
      if (r.width === 0 || !t.textContent.trim()) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
          || r.bottom > box.bottom + 1) {
        clipped.push(t.textContent.trim().slice(0, 40));
      }
    }
  }
  return clipped;
}"""


def assert_the_decoder_is_projector_sized(page) -> None:
    """In projector view the slider panel kept a laptop's sizes (labels of 21 px, the
    Traverse menu 18 px, a 280-px picture): its text is now the page's 24 px, its picture
    360 px, and its Traverse row still ends on the first screen, under a header of one row:
    the model, the input and its button share it (the model's card folded beside the
    intro's), so the tabs start ~85 px higher than with two rows (518 px)."""
    page.locator("input.ld-range").first.wait_for()
    sizes = [page.locator(part).first.evaluate("e => getComputedStyle(e).fontSize")
             for part in (".ld-label", ".ld-traverse", ".ld-dim", ".ld-button", ".ld-caption")]
    assert sizes == ["24px"] * 5, sizes
    picture = page.locator("canvas.ld-image").first.bounding_box()
    assert round(picture["width"]) == 360, picture
    play = page.locator(".ld-play").first.bounding_box()
    assert play["y"] + play["height"] <= 1080, play
    tab_bar = page.get_by_role("tablist").first.bounding_box()
    assert tab_bar["y"] <= 470, tab_bar
    button = page.get_by_role("button", name="Another random test image").bounding_box()
    assert button["y"] + button["height"] <= tab_bar["y"], (button, tab_bar)


def assert_the_sampler_starts_on_a_laptops_first_screen(page) -> None:
    """At 1280x800 the PixelCNN sampler began at the first screen's bottom edge (the tabs
    at y = 737): the intro, the model's figures and its gallery each took a row of their
    own. The gallery (two rows of five) and its words now stand beside the intro, and the
    page's top padding is halved: the step buttons and the canvas's top are in view."""
    tab_bar = page.get_by_role("tablist").first.bounding_box()
    assert tab_bar["y"] <= 560, tab_bar
    step = page.get_by_role("button", name="Step 1 pixel").bounding_box()
    assert step["y"] + step["height"] <= 650, step
    gallery = page.locator('[data-testid="stMain"] [data-testid="stImage"]').first
    intro = page.locator('[data-testid="stMain"] [data-testid="stMarkdownContainer"] p').first
    assert gallery.bounding_box()["y"] <= intro.bounding_box()["y"] + 10  # level, beside it


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", PAGES)
def test_page_at_common_sizes_has_no_clipped_chart_text(browser, app_url, path, size):
    """At 1920x1080 the page is in projector view (24 px text): there, at 24 px, the title,
    intro and formula (and the PixelCNN gallery) once filled the first screen, so a tab's
    chart started below it. They wait in closed expanders, the tab bar stands in the
    screen's upper two thirds, and an expander opens the intro again. At 1280 every tab is
    opened: no chart text clipped, no button's label cut ("Save the traversal as a...")."""
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{path}" + ("?projector=true" if size == "projector" else ""))
        wait_idle(page, timeout=180)
        assert_no_exception(page)
        clipped = page.evaluate(CLIPPED_TEXT)
        assert not clipped, f"clipped chart text on /{path} at {width}x{height}: {clipped}"
        screenshot(page, f"{path or 'home'}_{size}")
        if size == "projector" and path == "latent_explorer":  # its first tab, loaded here
            assert_the_decoder_is_projector_sized(page)
        if size == "projector" and not path:  # the map first, whole on the first screen
            map_bottom = plotly_chart(page, "taxonomy_chart").bounding_box()
            assert map_bottom["y"] + map_bottom["height"] <= 1080, map_bottom
            # and what a click answers beside it (under the map it was on the second screen)
            answer = page.locator('[data-testid="stTable"]').first.bounding_box()
            assert answer["y"] + answer["height"] <= 1080, answer
            assert answer["x"] >= map_bottom["x"] + map_bottom["width"] - 5, answer
        if size == "projector" and path:
            tab_bar = page.get_by_role("tablist").first.bounding_box()
            assert tab_bar["y"] < 720, f"/{path}: the tabs start at y = {tab_bar['y']:.0f}"
            idea = page.locator('[data-testid="stExpander"]', has_text="The idea of this page")
            idea.locator("summary").click()
            idea.locator(".katex, p").first.wait_for(state="visible")
            assert_no_exception(page)
        if size == "laptop" and path == "autoregressive":  # the sampler on the first screen
            assert_the_sampler_starts_on_a_laptops_first_screen(page)
        if size == "laptop":  # the narrow size: every other tab too (tabs are lazy)
            tabs = page.get_by_role("tab")
            for index in range(tabs.count()):
                label = tabs.nth(index).inner_text()
                if index:
                    tabs.nth(index).click()
                    wait_idle(page, timeout=180)
                assert_no_exception(page)
                clipped = page.evaluate(CLIPPED_TEXT)
                assert not clipped, f"clipped chart text on /{path}, tab {label!r}: {clipped}"
                cut = page.evaluate(TRUNCATED)
                assert not cut, f"labels cut on /{path}, tab {label!r}: {cut}"
    finally:
        context.close()


def test_projector_view(browser, app_url):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/gen_vs_disc?projector=true")
        wait_idle(page, timeout=180)
        assert_no_exception(page)
        assert not page.locator('section[data-testid="stSidebar"]').is_visible()
        size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector("
                             "'[data-testid=\"stMarkdownContainer\"] p')).fontSize)")
        assert size >= 24
        # the values in the boxes too ("moons" kept 21 px; walk 20)
        values = page.evaluate("() => ['[data-testid=stSelectbox] input',"
                               " '[data-testid=stNumberInput] input'].map(s => parseFloat("
                               "getComputedStyle(document.querySelector(s)).fontSize))")
        assert min(values) >= 24, values
        screenshot(page, "projector_view")
        page.get_by_role("button", name="Leave projector view").click()
        wait_idle(page)
        # the sidebar comes back with the rerun (its paint can trail the idle status on a
        # loaded machine: waited for, not polled once)
        page.locator('section[data-testid="stSidebar"]').wait_for(state="visible",
                                                                  timeout=20_000)
    finally:
        context.close()


TRUNCATED = """() => [...document.querySelectorAll(
    '[data-testid="stPageLink"] a *, button p, [data-testid="stButton"] p')]
  .filter(e => e.children.length === 0 && e.textContent.trim()
          && e.getBoundingClientRect().width > 0 && e.scrollWidth > e.clientWidth + 1)
  .map(e => e.textContent.trim())"""


CARD_BOXES = """() => [...document.querySelectorAll('[data-testid="stVerticalBlock"]')]
  .filter(e => parseFloat(getComputedStyle(e).borderTopWidth) > 0
          && e.querySelector('[data-testid=stPageLink]'))
  .map(e => { const r = e.getBoundingClientRect(); return [Math.round(r.top), r.height]; })"""


def test_projector_view_on_a_laptop_cuts_no_label(browser, app_url):
    """A lecturer mirroring a 1280-wide laptop in projector view: the page cards' links and
    the buttons show their whole labels (a card read "Generative vs discrimi"), the cards of
    a row are equally tall, and the taxonomy map (two thirds of the width, the family's
    words beside it) cuts no leaf label at its edge."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/?projector=true")
        wait_idle(page, timeout=180)
        page.locator("[data-testid=stPageLink]").first.wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        assert page.evaluate(TRUNCATED) == []
        assert page.evaluate(CLIPPED_TEXT) == []
        rows: dict[int, list[float]] = {}
        for top, height in page.evaluate(CARD_BOXES):
            rows.setdefault(top, []).append(height)
        assert len(rows) >= 2 and all(max(h) - min(h) <= 1 for h in rows.values()), rows
        assert_no_exception(page)
    finally:
        context.close()


@pytest.mark.parametrize("path, key, least", [
    ("autoregressive?ar_tab=Receptive+field", "ar_field_gated_pixelcnn_mnist", 440),
    ("latent_explorer?latent_tab=Independent+dimensions", "latent_correlations", 460)])
def test_square_maps_are_large_and_whole_on_a_projector(browser, app_url, path, key, least):
    """In projector view the receptive-field maps and the correlation heatmap were small
    squares (about 270 and 460 px) in wide columns; then large, but starting at the first
    screen's bottom edge (y = 900-1000 of 1080) under the tab's words. Now the words stand
    beside or after them: each map is large and lies wholly on the first screen."""
    with page_at(browser, app_url, path, "projector") as page:
        side, bottom = plotly_chart(page, key).evaluate(
            "gd => { const l = gd._fullLayout; return [Math.min(l.xaxis._length, "
            "l.yaxis._length), gd.getBoundingClientRect().top + l.yaxis._offset "
            "+ l.yaxis._length]; }")
        assert side >= least, f"the map on /{path} is {side:.0f} px square"
        assert bottom <= 1080, f"the map on /{path} ends at y = {bottom:.0f}, below the screen"
        assert_no_exception(page)


# a tab's main charts, per page: the ones a walk found starting low on a projector. "whole":
# the chart with its axes and legend ends on the first screen; else at least 80% of its plot
MAIN_CHARTS = [("density?dens_tab=2-D+and+the+chain+rule", ["dens_contour", "dens_chain"], True),
               ("density?dens_tab=Density+as+a+budget", ["dens_budget_chart"], True),
               ("elbo_lab?lab_tab=Reparameterization", ["lab_rep_planes"], True),
               ("gen_vs_disc", ["gvd_disc_chart"], False),
               ("latent_explorer?latent_tab=Traversals", ["latent_traversal_grid"], True),
               ("latent_explorer?latent_tab=2-D+manifold", ["latent_manifold_chart"], True),
               ("latent_explorer?latent_tab=Autoencoder+vs+VAE", ["latent_pca_VAE"], False)]


def test_main_charts_lie_on_a_projectors_first_screen(browser, app_url):
    """Controls stacked one per row (and a seed box above the charts it does not drive)
    pushed these tabs' charts to the bottom of a 1080-px screen: now each lies whole on the
    first screen (the 2-D chain rule's x axes and the traversal grid were cut; the budget's
    two areas were cut in half; the 2-D manifold's x axis, and a click's digit under it), or at
    least 80% of its plot area does. The
    reparameterization tab's computation graph, beside its planes, ends on the screen too.
    (The home map's check rides on the per-page projector load above.)"""
    with sized_page(browser, 1920, 1080) as page:
        for path, keys, whole in MAIN_CHARTS:
            page.goto(f"{app_url}/{path}{'&' if '?' in path else '?'}projector=true")
            wait_idle(page, timeout=180)
            for key in keys:
                bottom, top, length = plotly_chart(page, key).evaluate(
                    "gd => { const y = gd._fullLayout.yaxis, box = gd.getBoundingClientRect(); "
                    "return [box.bottom, box.top + y._offset, y._length]; }")
                if whole:
                    assert bottom <= 1080, f"/{path}: {key} ends at y = {bottom:.0f}"
                else:
                    shown = (min(top + length, 1080) - top) / length
                    assert shown >= 0.8, f"/{path}: {shown:.0%} of {key}'s plot on the screen"
            if "budget" in path:  # the two areas that prove the point, under the chart
                areas = page.locator("[data-testid=stMetricValue]")
                bottom = max(areas.nth(i).bounding_box()["y"] + areas.nth(i).bounding_box()[
                    "height"] for i in range(areas.count()))
                assert areas.count() == 2 and bottom <= 1080, bottom
            if "Reparameterization" in path:
                graph = page.locator("[data-testid=stGraphVizChart] svg").bounding_box()
                assert graph["y"] + graph["height"] <= 1080, graph
            if "manifold" in path:  # a click's digit beside the plane (it was a screen below)
                click_chart(page, plotly_chart(page, "latent_manifold_chart"), "centre")
                wait_idle(page)
                decoded = page.get_by_text("decoded z = (", exact=False).first.bounding_box()
                assert decoded["y"] + decoded["height"] <= 1080, decoded
            assert_no_exception(page)

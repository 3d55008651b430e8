"""Click planes: every pixel of the plot area lies on the clickable grid.

With equal axis scales (scaleanchor) plotly widens one axis' range to fill a non-square
plot area unless constrain="domain"; the widened margin had no grid point, so clicks at
the chart's edges did nothing (seen in the browser on the gen-vs-disc and latent pages).
"""

import numpy as np
import pytest

from explorer.figures import make_contour_figure, make_latent_scatter_figure


def contour():
    axis = np.linspace(-4, 4, 61)
    return make_contour_figure(axis, np.zeros((61, 61)), clickable=True), (-4.0, 4.0)


def latent():
    rng = np.random.default_rng(0)
    points = rng.normal(0, 2, (300, 2))  # some encodings lie outside the grid
    return make_latent_scatter_figure(points, rng.integers(0, 10, 300),
                                      click_grid=(3.0, 41)), (-3.0, 3.0)


@pytest.mark.parametrize("build", [contour, latent])
def test_click_planes_keep_their_ranges_and_shrink_the_domain(build):
    fig, (low, high) = build()
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert tuple(axis.range) == (low, high)
        assert axis.constrain == "domain"
    assert fig.layout.yaxis.scaleanchor == "x"
    (grid,) = [t for t in fig.data if t.customdata is not None]
    customdata = np.asarray(grid.customdata)
    assert np.allclose(customdata, np.stack([grid.x, grid.y], 1))  # customdata = (x, y)
    assert customdata.min(0) == pytest.approx([low, low])
    assert customdata.max(0) == pytest.approx([high, high])  # the grid reaches every edge

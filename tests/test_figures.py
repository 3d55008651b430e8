"""Click planes: every pixel of the plot area lies on the clickable grid.

With equal axis scales (scaleanchor) plotly widens one axis' range to fill a non-square
plot area unless constrain="domain"; the widened margin had no grid point, so clicks at
the chart's edges did nothing (seen in the browser on the gen-vs-disc and latent pages).
"""

import numpy as np
import pytest

from explorer.figures import (
    make_contour_figure,
    make_distribution_figure,
    make_heatmap_figure,
    make_latent_scatter_figure,
    make_manifold_figure,
)


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


def test_nice_ticks_are_round_and_cover_the_data():
    from explorer.figures import nice_ticks

    assert nice_ticks(17.76) == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert nice_ticks(0.37) == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert nice_ticks(0.0) == [0.0, 1.0] and nice_ticks(float("nan")) == [0.0, 1.0]
    for top in (0.013, 3.3, 47.0, 1234.5):
        ticks = nice_ticks(top)
        step = ticks[1]
        mantissa = step / 10 ** np.floor(np.log10(step))
        assert round(mantissa, 6) in (1, 2, 2.5, 5) and ticks[0] == 0 and ticks[-1] >= top
        assert 3 <= len(ticks) - 1 <= 6


def test_the_kl_axis_of_the_lab_curves_has_round_ticks_from_zero():
    from explorer.figures import make_curves_figure

    records = [{"step": s, "elbo": -200 + s, "kl": 4.44 * (1 + s / 100)} for s in range(100)]
    figure = make_curves_figure(records, ["elbo", "kl"], secondary=["kl"],
                                secondary_title="KL, nats")
    ticks = list(figure.layout.yaxis2.tickvals)
    low, high = figure.layout.yaxis2.range
    assert ticks[0] == 0 and ticks[-1] >= 8.84  # no negative tick; the 0 clear of the
    assert -0.1 * high < low < 0  # corner, where the step axis's last label sits
    assert all(t == round(t, 1) for t in ticks)


def test_a_receptive_field_map_names_its_axes():
    figure = make_heatmap_figure(np.zeros((28, 28)), "influence", title="Gated", mark=(3, 4))
    assert figure.layout.xaxis.title.text == "column" and figure.layout.yaxis.title.text == "row"
    assert list(figure.layout.xaxis.tickvals) == [0, 7, 14, 21]
    assert figure.layout.shapes[0].line.color == "#22d3ee"
    assert figure.layout.xaxis.constrain == "domain"  # the row axis stays beside the map
    plain = make_heatmap_figure(np.zeros((28, 28)), "influence")
    assert not plain.layout.shapes


def test_the_taken_label_points_in_from_the_side_at_the_ends():
    p = np.full(256, 1 / 256)
    assert make_distribution_figure(p, 0).layout.annotations[0].ax > 0
    assert make_distribution_figure(p, 255).layout.annotations[0].ax < 0
    assert make_distribution_figure(p, 128).layout.annotations[0].ax == 0


def test_rate_distortion_labels_stay_inside_the_plot():
    from explorer.figures import make_rate_distortion_figure, point_label_box
    from explorer.run_store import RatePoint

    trail = [(2.0, 120.0), (10.0, 95.0), (20.0, 90.0)]
    points = [RatePoint(1.0, 130.0, 4.0, "a"), RatePoint(22.0, 88.0, 0.5, "b")]
    figure = make_rate_distortion_figure(trail, points)
    top = max(p[1] for p in trail + [(q.rate, q.distortion) for q in points]) * 1.1
    for note in figure.layout.annotations:  # on their line, off the y axis, below the top
        assert note.x > 0 and note.y <= top + 1e-9
    finished = next(t for t in figure.data if t.name == "finished runs")
    span_x, (low, high) = figure.layout.xaxis.range[1], figure.layout.yaxis.range
    for point, text, place in zip(points, finished.text, finished.textposition):
        assert text  # room for both, each inside the plot (the right one turns)
        box = point_label_box(point.rate / span_x, (point.distortion - low) / (high - low),
                              text, place)
        assert 0 <= box[0] and box[2] <= 1 and 0 <= box[1] and box[3] <= 1, (text, box)
    assert finished.textposition[1] != "bottom right"


def test_bound_labels_have_room_on_both_axes():
    from explorer.figures import make_bounds_figure

    figure = make_bounds_figure({1: -145.28, 10: -130.0, 100: -122.5, 1000: -119.24})
    low, high = figure.layout.yaxis.range
    assert low < -145.28 - 5 and high > -119.24 + 5  # room below the first, above the last
    assert figure.data[0].textposition[0] == "bottom right"  # away from the y axis
    assert figure.layout.xaxis.range[0] < 0  # log10(1) = 0: the first point is not on the axis


def test_lines_of_equal_elbo_are_spaced_so_their_labels_never_stack():
    from explorer.figures import make_rate_distortion_figure
    from explorer.run_store import RatePoint

    close = [RatePoint(5.0 + i * 0.3, 140.0 - i * 0.2, 1.0, "s") for i in range(5)]
    labels = make_rate_distortion_figure([], close).layout.annotations
    assert len(labels) == 1  # five points within 2 nats: one line, one label
    spread = [(2.0, 200.0), (10.0, 150.0), (30.0, 100.0)]
    figure = make_rate_distortion_figure(spread)
    ys = sorted(note.y + note.x for note in figure.layout.annotations)
    low, high = figure.layout.yaxis.range
    assert len(ys) >= 3 and min(np.diff(ys)) >= 0.15 * (high - low) - 1e-6
    bounds = make_bounds_figure_text()
    assert all("-" not in t for t in bounds)  # a true minus sign in the value labels


def make_bounds_figure_text():
    from explorer.figures import make_bounds_figure

    return list(make_bounds_figure({1: -145.3, 10: -130.0}).data[0].text)


def test_side_by_side_code_scatters_share_a_square_window_whatever_their_spread():
    rng = np.random.default_rng(1)
    wide = rng.normal(0, 1, (500, 2)) * [40.0, 3.0]  # an autoencoder's codes: one long axis
    ball = rng.normal(0, 1, (500, 2))  # a VAE's: near N(0, I)
    for points in (wide, ball):
        fig = make_latent_scatter_figure(points, rng.integers(0, 10, 500))
        x_range, y_range = tuple(fig.layout.xaxis.range), tuple(fig.layout.yaxis.range)
        assert x_range == y_range  # square, so equal scales give the same plot size
        assert x_range[1] >= np.abs(points).max()  # every point is inside
        assert x_range[1] <= 1.1 * np.abs(points).max()  # and the window is not padded out


def test_the_clickable_plane_labels_no_tick_at_its_corners():
    fig, (low, high) = latent()
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        ticks = list(axis.tickvals)
        assert ticks == [-2.0, -1.0, 0.0, 1.0, 2.0]
        assert low not in ticks and high not in ticks


def test_a_probability_column_has_one_format():
    from explorer.figures import probability_column
    assert probability_column([0.5, 0.25, 1.0, 0.0]) == ["0.500", "0.250", "1.000", "0"]
    mixed = probability_column([0.5, 1.234e-5, 3.2e-12])
    assert mixed == ["5.00 × 10⁻¹", "1.23 × 10⁻⁵", "3.20 × 10⁻¹²"]
    assert probability_column([float("nan"), 0.5]) == ["n/a", "0.500"]
    assert probability_column([1.0, 2e-9]) == ["1.00", "2.00 × 10⁻⁹"]  # not 1.00 × 10⁰


def test_the_density_chart_gives_every_click_to_its_columns():
    from explorer.figures import make_density_1d_figure
    grid = np.linspace(-8, 8, 801)
    curves = {"true density": np.exp(-grid ** 2 / 2), "KDE": np.exp(-(grid - 1) ** 2)}
    fig = make_density_1d_figure(grid, curves, np.array([0.5]), np.array([1.0]))
    # a curve lying along the axis must not take the pointer: a line's point cannot be
    # selected, so a click there once did nothing
    assert all(t.hoverinfo == "skip" for t in fig.data if t.type == "scatter")
    (columns,) = [t for t in fig.data if t.type == "bar"]
    readings = np.asarray(columns.customdata)
    assert np.allclose(readings[:, 0], columns.x)  # the x a click places a sample at
    at = np.searchsorted(grid, 1.0)
    row = int(np.argmin(np.abs(readings[:, 0] - 1.0)))
    assert readings[row, 2] == pytest.approx(curves["KDE"][at])  # the tooltip's readings
    assert "KDE: %{customdata[2]" in columns.hovertemplate


def test_a_negative_distortion_stays_on_the_rate_distortion_plane():
    """A Gaussian decoder's log p(x|z) is a log density: with small sigma the distortion is
    negative, and the plane must still show the run."""
    from explorer.figures import make_rate_distortion_figure

    trail = [(5.0, -600.0), (12.0, -690.0), (14.0, -698.4)]
    low, high = make_rate_distortion_figure(trail).layout.yaxis.range
    assert low < -698.4 < -600.0 < high
    figure = make_rate_distortion_figure(trail)
    labels = [note.text for note in figure.layout.annotations]
    # ELBO = −(D + R), said once: no "−ELBO = -705" double negative, no hyphen minus
    assert labels and all(t.startswith("ELBO = ") and "-" not in t for t in labels), labels
    for axis in (figure.layout.xaxis, figure.layout.yaxis):  # short enough for a laptop's
        assert len(axis.title.text) <= 20, axis.title.text  # plot (a longer one was cut)
    low, high = make_rate_distortion_figure([(5.0, 90.0), (9.0, 120.0)]).layout.yaxis.range
    assert 0 <= low < 90.0 and high > 120.0  # positive distortions: no room wasted below 0


def test_quick_knob_changes_keep_their_lines_but_label_only_those_apart():
    from explorer.figures import make_curves_figure, make_rate_distortion_figure, spaced_labels

    assert spaced_labels([(0,), (1,), (2,), (50,), (100,)], [100]) == [2, 3, 4]
    assert spaced_labels([(i * 20,) for i in range(10)], [200], limit=3) == [7, 8, 9]
    records = [{"step": s, "kl": 1.0, "reconstruction": 100.0} for s in range(0, 1001, 10)]
    quick = [{"step": 500 + i, "name": "beta", "value": v} for i, v in enumerate((1, 3, 0.25, 5, 2))]
    figure = make_curves_figure(records, ["kl"], quick)
    assert len(figure.layout.shapes) == 5  # every change keeps its dashed line
    assert [a.text for a in figure.layout.annotations] == ["β→2"]  # the newest, alone
    marks = [(10.0 + 0.01 * i, 100.0, f"β→{v}") for i, v in enumerate((1, 3, 5))]
    plane = make_rate_distortion_figure([(5.0, 90.0), (20.0, 130.0)], markers=marks)
    texts = [t.text[0] for t in plane.data if t.mode == "markers+text" and t.text[0] != ""]
    assert texts == ["β→5"]


def test_taxonomy_group_labels_never_hide_a_connector():
    from explorer.figures import make_taxonomy_figure

    for note in make_taxonomy_figure().layout.annotations:
        colour = note.bgcolor or "rgba(0,0,0,0)"
        # an opaque ground once hid the connector to the VAE leaf
        assert colour.startswith("rgba(") and float(colour.rstrip(")").split(",")[-1]) < 1
    figure = make_taxonomy_figure()
    xs, ys = figure.data[0].x, figure.data[0].y
    levels = sorted({x for x in figure.data[1].x})
    level = min(b - a for a, b in zip(levels, levels[1:]))
    segments = [(xs[i], *sorted((ys[i], ys[i + 1]))) for i in range(len(xs) - 1)
                if xs[i] is not None and xs[i] == xs[i + 1] and ys[i] != ys[i + 1]]
    for note in figure.layout.annotations:  # a label about a level wide, centred on its node,
        # on the side of its node (above or below) that no connector crosses within it
        side = 1 if note.yanchor == "bottom" else -1
        for x, low, high in segments:
            near = abs(x - note.x) < 0.52 * level  # "Approximate" at 24 px: ~1.04 levels
            crosses = low < note.y + side * 0.4 * level and high > note.y if side > 0 \
                else low < note.y and high > note.y - 0.4 * level
            assert not (near and crosses), (note.text, x, low, high)


def test_finished_gaussian_runs_are_named_on_the_rate_distortion_plane():
    from explorer.figures import make_rate_distortion_figure
    from explorer.run_store import RatePoint

    points = [RatePoint(20.0, 100.0, 2.0, "run at beta=2", "lab"),
              RatePoint(30.0, -850.0, 2.0, "run at beta=2, gaussian sigma=0.1", "lab")]
    (finished,) = [t for t in make_rate_distortion_figure([], points).data
                   if t.name == "finished runs"]
    assert list(finished.text) == ["1: β=2", "2: β=2 Gaussian"]  # numbered as in the key


def _box_gap(box, u: float, v: float) -> float:
    """Distance from a point to a box (u0, v0, u1, v1), 0 inside it."""
    return (max(box[0] - u, 0, u - box[2]) ** 2 + max(box[1] - v, 0, v - box[3]) ** 2) ** 0.5


def test_contour_labels_keep_clear_of_points_and_of_each_other():
    from explorer.figures import (
        CONTOUR_LABEL_BOX,
        contour_label_box,
        contour_label_positions,
        make_rate_distortion_figure,
        point_label_box,
    )
    from explorer.run_store import RatePoint

    # a beta sweep: finished points along the lines of equal ELBO, where the old labels sat
    points = [RatePoint(2.0 + 4 * i, 150.0 - 6 * i, 2.0 ** (2 - i), "sweep") for i in range(6)]
    marks = [(6.0, 142.0, "β→2"), (14.0, 128.0, "β→0.5")]
    figure = make_rate_distortion_figure([(1.0, 160.0), (3.0, 150.0)], points, marks)
    span_x = figure.layout.xaxis.range[1]
    low, high = figure.layout.yaxis.range
    obstacles = [(p.rate / span_x, (p.distortion - low) / (high - low)) for p in points] \
        + [(m[0] / span_x, (m[1] - low) / (high - low)) for m in marks]
    boxes = []
    for note in figure.layout.annotations:
        if note.showarrow:  # a finished run's number on a leader (tested below)
            continue
        u, v = note.x / span_x, (note.y - low) / (high - low)
        box = contour_label_box(u, v)  # centred on its line: it names that line alone
        assert note.xanchor == "center" and note.yanchor == "middle" and note.bgcolor
        assert box[2] - box[0] == pytest.approx(CONTOUR_LABEL_BOX[0])
        assert 0 <= box[0] and box[2] <= 1 and 0 <= box[1] and box[3] <= 1  # inside the plot
        assert not any(box[0] <= a <= box[2] and box[1] <= b <= box[3] for a, b in obstacles)
        boxes.append(box)
    for i, a in enumerate(boxes):  # no two labels overlap
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    finished = next(t for t in figure.data if t.name == "finished runs")
    for (a, b), text, place in zip(obstacles, finished.text, finished.textposition):
        if not text:
            continue  # a finished run's label: beside it, clear of the lines' and the others'
        label = point_label_box(a, b, text, place)
        assert 0 <= label[0] and label[2] <= 1 and 0 <= label[1] and label[3] <= 1
        own = _box_gap(label, a, b)  # nearer its own point than any other: it reads as its
        assert all(_box_gap(label, u, v) > own + 0.03 for u, v in obstacles
                   if (u, v) != (a, b)), text
        for box in boxes:
            assert label[2] <= box[0] or box[2] <= label[0] or label[3] <= box[1] \
                or box[3] <= label[1], (text, label, box)
        boxes.append(label)
    close = [RatePoint(10.0 + 0.2 * i, 120.0 - 0.1 * i, 1.0 / (i + 1), "sweep") for i in range(4)]
    crowded_figure = make_rate_distortion_figure([], close)
    crowded = next(t for t in crowded_figure.data if t.name == "finished runs")
    # four points together: a label there would name any of them; at most two, on
    # opposite sides, never on each other (each point names itself on hover)
    assert sum(bool(t) for t in crowded.text) <= 2
    places = [p for t, p in zip(crowded.text, crowded.textposition) if t]
    assert len(set(places)) == len(places)
    assert [h.split(" (")[0] for h in crowded.hovertext] == [
        "1: β=1 sweep", "2: β=0.5 sweep", "3: β=0.333333 sweep", "4: β=0.25 sweep"]
    # placed where the line is farthest from a point: a point at the old place moves it
    free = contour_label_positions([100.0], [], (50.0, [40.0, 110.0]))[0]
    moved = contour_label_positions([100.0], [(free + 1.0, 100.0 - free + 2.0)],
                                    (50.0, [40.0, 110.0]))[0]
    assert abs(moved - free) > 5.0


def test_an_ended_run_has_no_now_point_and_every_change_has_a_hover():
    from explorer.elbo_lab import knob_changes_text
    from explorer.figures import make_rate_distortion_figure

    trail, marks = [(1.0, 160.0), (3.0, 150.0)], [(1.5, 158.0, "β→2"), (1.6, 157.9, "β→4")]
    live = make_rate_distortion_figure(trail, (), marks)
    ended = make_rate_distortion_figure(trail, (), marks, live=False)
    assert any(t.name == "now" for t in live.data)
    assert not any(t.name == "now" for t in ended.data)
    assert any(t.name == "this run (ended)" for t in ended.data)
    hovers = [t.hovertext[0] for t in live.data if t.hovertext]
    assert hovers == ["β→2", "β→4"]  # the unlabelled close change too
    markers = [{"step": 100 * i, "name": "beta", "value": float(i)} for i in range(1, 12)]
    text = knob_changes_text(markers)
    assert text.startswith("Knob changes (the last 8; 3 earlier): step 400 β→4,")
    assert text.endswith("step 1,100 β→11.") and knob_changes_text([]) == ""
    burst = knob_changes_text([{"step": 40, "name": "beta", "value": 5.0, "presses": 3}])
    assert burst == "Knob changes: step 40 β→5 (last of 3 quick changes)."


def test_markdown_table_aligns_escapes_and_checks_lengths():
    from explorer.typeset import markdown_table

    text = markdown_table({"class $y$": ["0", "1"], r"$p(x \mid y)$": ["0.500", "a|b"]})
    assert text.splitlines() == ["| class $y$ | $p(x \\mid y)$ |", "|:--|--:|",
                                 "| 0 | 0.500 |", "| 1 | a\\|b |"]
    with pytest.raises(ValueError):
        markdown_table({"a": ["1"], "b": []})


def test_the_log_scale_reaches_down_to_a_background_pixels_other_levels():
    from explorer.figures import LOG_HEADROOM, make_distribution_figure

    background = np.full(256, 1e-13)
    background[0] = 1.0 - 255e-13  # a black pixel the model is sure of
    figure = make_distribution_figure(background, 0, log_scale=True)
    low, high = figure.layout.yaxis.range
    assert low <= -13 and high >= LOG_HEADROOM  # every bar visible, and room for the label:
    assert high / (high - low) >= 0.12  # a share of the plot above p = 1, at any depth
    assert low < figure.layout.annotations[0].y < high
    spread = np.full(256, 1 / 256)
    assert make_distribution_figure(spread, 3, log_scale=True).layout.yaxis.range[0] == -6
    # its decades get more height than the linear chart (ten had 140 px at 1280)
    assert figure.layout.height > make_distribution_figure(background, 0).layout.height


def test_one_finished_run_gets_a_window_where_lines_of_equal_elbo_look_sloped():
    from explorer.figures import make_rate_distortion_figure
    from explorer.run_store import RatePoint

    figure = make_rate_distortion_figure([], [RatePoint(24.0, 69.0, 1.0, "sweep")])
    low, high = figure.layout.yaxis.range
    assert high - low >= 0.5 * figure.layout.xaxis.range[1] and low <= 69.0 <= high
    # from D = 0 as drawn in the paper (a window of ±14 nats around it made D look precise)
    assert low == 0.0 and 69.0 < high <= 1.2 * 69.0
    # a knob change right at a finished run's point keeps its label (the curves name it
    # too); the finished run's label goes where it is clear of it, or to the hover
    near = make_rate_distortion_figure([(20.0, 72.0)], [RatePoint(24.0, 69.0, 3.0, "sweep")],
                                       [(24.5, 69.5, "β→10")])
    diamond = next(t for t in near.data if t.hovertext and t.hovertext[0] == "β→10")
    assert diamond.text[0] == "β→10"


def test_a_labelled_grid_names_each_row_and_column_at_its_cells():
    from explorer.figures import make_labelled_grid_figure

    images = np.zeros((6, 28, 28), dtype=np.float32)
    images[4] = 1.0  # row 1, column 1: white
    figure = make_labelled_grid_figure(images, ["z3", "z0"], ["−1", "0", "1"], "value", "dim")
    assert list(figure.layout.yaxis.ticktext) == ["z3", "z0"]
    assert list(figure.layout.xaxis.ticktext) == ["−1", "0", "1"]
    x, y = figure.layout.xaxis.tickvals[1], figure.layout.yaxis.tickvals[1]
    z = np.asarray(figure.data[0].z)
    assert z.shape == (28 * 2 + 1, 28 * 3 + 2, 3)
    assert z[int(y), int(x)].tolist() == [255, 255, 255]  # the tick sits on its own cell
    assert z[int(figure.layout.yaxis.tickvals[0]), int(x)].tolist() == [0, 0, 0]
    with pytest.raises(ValueError):
        make_labelled_grid_figure(images[:5], ["z3", "z0"], ["−1", "0", "1"], "v", "d")


def test_a_grey_kl_bar_never_reads_as_the_threshold():
    """Every grey (inactive) bar reads "<0.01"; an active 0.0123 reads "0.012", not "0.01",
    which looked like one at the threshold beside a caption counting it above."""
    from explorer.figures import make_kl_bars_figure

    kl = np.array([2.5, 0.0097, 0.001, 0.0123])
    active = kl > 0.01
    figure = make_kl_bars_figure(kl, active, np.argsort(-kl))
    assert list(figure.data[0].text) == ["2.50", "0.012", "<0.01", "<0.01"]  # one kind of grey


def test_a_burst_of_knob_presses_is_labelled_by_where_it_ended_on_both_charts():
    from explorer.elbo_lab import Diagnostics, LiveSnapshot
    from explorer.figures import make_curves_figure, make_rate_distortion_figure, settled_marks

    records = [{"step": float(s), "kl": 2.0 + s / 100, "reconstruction": 200.0 - s / 10,
                "elbo": -200.0} for s in range(0, 2000, 10)]
    presses = [{"step": 600 + 2 * i, "name": "beta", "value": float(v)}
               for i, v in enumerate(range(1, 11))]  # arrow keys: β 1, 2, .. 10
    later = [{"step": 1500, "name": "beta", "value": 0.5}]
    assert settled_marks(presses + later, 2000) == [9, 10]
    curves = make_curves_figure(records, ["reconstruction", "kl"], presses + later)
    curve_labels = {note.text for note in curves.layout.annotations}
    snapshot = LiveSnapshot(records, presses + later,
                            Diagnostics(*(np.zeros(0),) * 4, rate=22.0, distortion=50.0))
    plane = make_rate_distortion_figure(snapshot.rate_distortion_trail(), (),
                                        snapshot.knob_marks())
    plane_labels = {t.text[0] for t in plane.data if t.mode == "markers+text" and t.text[0]}
    assert curve_labels == plane_labels == {"β→10", "β→0.5"}
    hovers = [t.hovertext[0] for t in plane.data if t.name == "knob changes"]
    assert hovers[-2] == "β→7, then β→8, then β→9, then β→10"  # presses at one logged point
    from explorer.run_store import RatePoint  # finished runs beside the changes: their
    beside = [RatePoint(m[0] + 0.3, m[1] + 1.0, 1.0, "sweep beta=1") for m in  # labels
              snapshot.knob_marks()[-2:]]  # make way, the changes keep theirs
    crowded = make_rate_distortion_figure(snapshot.rate_distortion_trail(), beside,
                                          snapshot.knob_marks())
    assert {t.text[0] for t in crowded.data
            if t.mode == "markers+text" and t.name != "finished runs" and t.text[0]} \
        == curve_labels


def test_a_clipped_colour_bar_says_its_floor_is_a_bound():
    axis = np.linspace(-4, 4, 21)
    field = np.tile(np.linspace(-20, -0.5, 21), (21, 1))  # far below the floor of -6
    bar = make_contour_figure(axis, field, zmin=-6).data[0].colorbar
    assert list(bar.ticktext) == ["≤−6", "−4", "−2"]  # every other one: room to stay level
    assert list(bar.tickvals) == [-6, -4, -2]
    narrow = make_contour_figure(axis, field, zmin=-3).data[0].colorbar
    assert list(narrow.ticktext) == ["≤−3", "−2", "−1"]
    within = make_contour_figure(axis, np.clip(field, -6, None) + 0.5, zmin=-6)
    assert within.data[0].colorbar.ticktext is None  # nothing clipped: plotly's own ticks


def test_the_1d_fits_curves_have_hues_far_apart():
    from explorer.figures import make_density_1d_figure

    grid = np.linspace(-4, 4, 81)
    names = ["true density", "histogram", "KDE", "mixture MLE (50 steps)"]
    fig = make_density_1d_figure(grid, {n: np.exp(-grid ** 2 / (i + 1)) for i, n in
                                        enumerate(names)})
    colours = {t.name: t.line.color for t in fig.data if t.name in names}
    assert set(colours) == set(names) and None not in colours.values()
    rgb = {n: np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) for n, c in colours.items()}
    for a in names:  # every pair tells apart on a projector: far apart in RGB
        for b in names[names.index(a) + 1:]:
            assert np.abs(rgb[a] - rgb[b]).sum() > 150, (a, b)


def test_a_line_chart_of_one_point_or_equal_values_does_not_zoom_into_rounding_noise():
    from explorer.figures import make_line_figure

    one = make_line_figure([1], {"float64": [-0.819911482], "float32": [-0.819911484]}, "N", "y")
    assert one.layout.yaxis.range == pytest.approx((-0.9019, -0.7379), abs=1e-3)
    assert one.layout.xaxis.dtick == 1 and one.layout.xaxis.range == (0.5, 1.5)
    spread = make_line_figure([1, 2, 3], {"a": [0.0, 5.0, 9.0]}, "N", "y")
    assert spread.layout.yaxis.range is None  # plotly's own range when values spread
    many = make_line_figure(list(range(100)), {"a": list(range(100))}, "N", "y")
    assert many.layout.xaxis.dtick is None


@pytest.mark.parametrize("log_scale", [False, True])
@pytest.mark.parametrize("taken_p", [1.0, 0.4, 1e-4])
def test_the_taken_label_has_room_above_its_bar(log_scale, taken_p):
    from explorer.figures import TAKEN_LABEL_ROOM, make_distribution_figure

    p = np.full(256, (1 - taken_p) / 255)
    p[7] = taken_p
    fig = make_distribution_figure(p, 7, log_scale=log_scale)
    low, high = fig.layout.yaxis.range
    bar = np.log10(taken_p) if log_scale else taken_p
    assert (high - bar) / (high - low) >= TAKEN_LABEL_ROOM - 1e-9  # the arrow and label fit
    assert fig.layout.annotations[0].text == "taken: 7"
    if log_scale or high > 1:  # the room above p = 1 has no tick ("1.4", or 10³ on the log
        assert max(fig.layout.yaxis.tickvals) == 1  # scale: a probability is at most 1)
    if log_scale:
        assert fig.layout.yaxis.ticktext[-1] == "1" and fig.layout.yaxis.ticktext[0][:2] == "10"


@pytest.mark.parametrize("reconstruction", [[180.0, 120.0, 95.0], [40.0, -20.0, -60.0]])
def test_both_axes_of_the_loss_terms_put_zero_at_one_height(reconstruction):
    from explorer.figures import make_curves_figure

    records = [{"step": s, "reconstruction": r, "kl": k}
               for s, r, k in zip((0, 10, 20), reconstruction, (0.0, 12.0, 25.0))]
    fig = make_curves_figure(records, ["reconstruction", "kl"], secondary=["kl"])
    share = lambda axis: (0 - axis.range[0]) / (axis.range[1] - axis.range[0])  # noqa: E731
    assert share(fig.layout.yaxis) == pytest.approx(share(fig.layout.yaxis2))
    assert 0.03 < share(fig.layout.yaxis2) and min(fig.layout.yaxis2.tickvals) == 0
    assert fig.layout.yaxis.range[0] <= min(reconstruction)  # every point inside
    assert fig.layout.yaxis.range[1] >= max(reconstruction)


def test_the_toy_plots_name_their_class_colours_once_above_them():
    from explorer.figures import CLASS_COLOURS, class_key

    axis = np.linspace(-4, 4, 21)
    points, labels = np.zeros((6, 2)), np.array([0, 1, 2, 0, 1, 2])
    fig = make_contour_figure(axis, np.zeros((21, 21)), points, labels)
    assert fig.layout.showlegend is False  # no legend to wrap beside one that does not
    key = class_key([2, 0, 1])
    assert [key.index(f"class {c}") for c in range(3)] == sorted(
        key.index(f"class {c}") for c in range(3))
    for c in range(3):  # each class's dot in the colour its points are drawn in
        assert f'color:{CLASS_COLOURS[c]}">●</span> class {c}' in key
    assert {t.marker.color for t in fig.data if t.name == "y=2"} == {CLASS_COLOURS[2]}


def test_every_finished_run_on_a_busy_plane_is_named_by_label_or_number():
    """The tenth walk: after a run with seven knob changes and a two-beta sweep, the plane
    labelled one of three green points, beside the wrong one; the run's own point (at its
    trail's end) had no room at all. Now each carries its numbered label, or its number
    where only that fits, nearer its own point than any other, and the key names all."""
    from explorer.figures import finished_points_key, make_rate_distortion_figure, point_label_box
    from explorer.run_store import RatePoint

    trail = [(0.5 + 0.2 * i, 200 - 0.8 * i) for i in range(100)]
    marks = [(5.0 + 2 * i, 190 - 8 * i, f"β→{v}", True)
             for i, v in enumerate([2, 4, 1, 0.5, 3, 0.5, 0.5])]
    points = [RatePoint(20.5, 121.0, 0.5, "run at beta=0.5", "lab"),
              RatePoint(24.0, 118.0, 0.25, "sweep beta=0.25", "s"),
              RatePoint(12.7, 127.0, 1.0, "sweep beta=1", "s")]
    figure = make_rate_distortion_figure(trail, points, marks, live=False)
    finished = next(t for t in figure.data if t.name == "finished runs")
    assert all(finished.text)  # every point carries its label or its number
    assert [t.split(":")[0] for t in finished.text] == ["1", "2", "3"]
    span_x, (low, high) = figure.layout.xaxis.range[1], figure.layout.yaxis.range
    at = [(p.rate / span_x, (p.distortion - low) / (high - low)) for p in points]
    for (a, b), text, place in zip(at, finished.text, finished.textposition):
        label = point_label_box(a, b, text, place)
        own = _box_gap(label, a, b)
        assert all(_box_gap(label, u, v) > own + 0.03 for u, v in at if (u, v) != (a, b))
    key = finished_points_key(points)
    assert key.startswith("Green points (finished runs), nats: 1: β=0.5 (R 20.5, D 121.0); ")
    assert "2: β=0.25 sweep (R 24.0, D 118.0); 3: β=1 sweep (R 12.7, D 127.0)." in key
    assert finished_points_key([]) == ""


def test_correlation_ticks_are_upright_numbers_named_by_the_axis_titles():
    """ "z12"-style ticks turned 90 degrees in a laptop's column: bare numbers, upright."""
    from explorer.figures import make_correlation_figure
    fig = make_correlation_figure(np.eye(3), [12, 3, 7])
    assert list(fig.data[0].x) == ["12", "3", "7"] == list(fig.data[0].y)
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert axis.tickangle == 0 and "dimension k of z" in axis.title.text
        assert axis.type == "category"  # in the given order, one cell each, not at 3, 7, 12
    assert fig.data[0].hovertemplate.startswith("z%{y} vs z%{x}")


def test_knob_labels_sit_in_rows_above_the_curves_never_on_them():
    """Inside the plot a label hid the KL curve where it ran along the top: the labels lie
    above the plot (y = 1, anchored at their bottom), centred over their own lines, in
    staggered rows that grow apart with the text in projector view; the legend is below."""
    from app_pages.common import projector_figure
    from explorer.figures import KNOB_LABEL_ROWS, make_curves_figure

    records = [{"step": s, "reconstruction": 100.0 - s / 20, "kl": s / 50} for s in range(1500)]
    markers = [{"step": s, "name": "beta", "value": v}
               for s, v in ((300, 2.0), (700, 0.5), (1100, 1.0), (1400, 4.0))]
    fig = make_curves_figure(records, ["reconstruction", "kl"], markers, title="t",
                             secondary=["kl"])
    notes = fig.layout.annotations
    assert [n.x for n in notes] == [300, 700, 1100, 1400]
    assert all(n.yref == "paper" and n.y == 1 and n.yanchor == "bottom"
               and n.xanchor == "center" for n in notes)
    rows = sorted({n.yshift for n in notes})
    assert len(rows) == KNOB_LABEL_ROWS and notes[0].yshift == notes[3].yshift  # the 4th wraps
    assert fig.layout.margin.t >= max(rows) + 15 + 30  # the rows and the title fit above
    assert fig.layout.legend.y == 0 and fig.layout.legend.yref == "container"
    assert fig.layout.title.x == 0 and fig.layout.title.xanchor == "left"  # clear of the mode
    # bar, which covers the top right corner on hover
    big = projector_figure(fig)
    grown = sorted({n.yshift for n in big.layout.annotations})
    assert min(b - a for a, b in zip(grown, grown[1:])) >= 24  # rows apart at 24 px text
    assert big.layout.margin.t >= max(grown) + 24


def test_a_chart_beside_a_contour_plot_shares_its_frame():
    """The chain-rule tab's factors stood lower and shorter than the joint beside them."""
    from explorer.figures import contour_frame, make_contour_figure, make_line_figure

    axis = np.linspace(-3, 3, 5)
    joint = make_contour_figure(axis, np.ones((5, 5)), title="joint")
    factors = contour_frame(make_line_figure([0, 1], {"a": [0.5, 0.5]}, "x", "p", title="f"))
    assert factors.layout.height == joint.layout.height
    for side in "tblr":
        assert getattr(factors.layout.margin, side) == getattr(joint.layout.margin, side)
    assert joint.layout.yaxis.constraintoward == "top"  # a shrunk square keeps its top
    # the legend above the plot, where the joint's colour bar is; both with their titles
    assert factors.layout.legend.y >= 1 and factors.layout.legend.yanchor == "bottom"
    assert factors.layout.title.y == joint.layout.title.y


def test_a_contour_plots_colour_bar_stands_between_its_title_and_the_plot():
    """A colour bar under the square floated about 80 px below it at 1280 px (the square,
    shrunk by a narrow column, keeps its top, not its bottom): it now hangs from the
    figure's top, under the title, in px (yref="container"), and the plot starts below its
    tick labels. The title names the quantity, so the bar carries no name of its own."""
    from explorer.figures import CONTOUR_BAR_ROOM, make_contour_figure

    axis = np.linspace(-3, 3, 5)
    for title in ("Generative log₁₀ p(x)", None):
        figure = make_contour_figure(axis, np.ones((5, 5)), title=title, height=380)
        bar = figure.data[0].colorbar
        assert bar.orientation == "h" and bar.yref == "container" and bar.yanchor == "top"
        bar_top = (1 - bar.y) * figure.layout.height  # px from the figure's top
        assert figure.layout.margin.t == round(bar_top) + CONTOUR_BAR_ROOM
        if title:
            assert bar_top >= 30 and bar.title.text is None  # under the title
        else:
            assert bar.title.text == "density"


def test_the_projector_copy_keeps_title_bar_and_plot_in_order():
    """At 24-28 px text the title, the colour bar and the plot keep their order: the px
    offsets from the top grow with the text, and so does the top margin."""
    from app_pages.common import projector_figure
    from explorer.figures import make_contour_figure

    figure = make_contour_figure(np.linspace(-3, 3, 5), np.ones((5, 5)), title="t", height=380)
    for height in (None, 520):
        big = projector_figure(figure, height)
        title, bar = ((1 - y) * big.layout.height  # px from the top
                      for y in (big.layout.title.y, big.data[0].colorbar.y))
        assert title + 28 <= bar, (title, bar)  # the title's text above the bar
        assert bar + 10 + 24 <= big.layout.margin.t  # the bar and its labels above the plot


def _plane_shares(figure):
    span_x, (low, high) = figure.layout.xaxis.range[1], figure.layout.yaxis.range
    return lambda r, d: (r / span_x, (d - low) / (high - low))


def test_plane_labels_keep_off_the_trail_between_its_sampled_points():
    """Walk 12: equal-ELBO labels and knob labels sat on the run's trail (only every few of
    its points were obstacles, and a knob label always went above right)."""
    from explorer.figures import contour_label_box, make_rate_distortion_figure, point_label_box

    # a trail of two points along a line of equal ELBO, then back up to the right
    trail = [(1.0, 199.0), (19.0, 181.0), (25.0, 190.0), (31.0, 199.0)]
    marks = [(19.0, 181.0, "β→10", True)]
    points = [RatePoint_(5.0, 120.0), RatePoint_(30.0, 100.0)]
    figure = make_rate_distortion_figure(trail, points, marks)
    share = _plane_shares(figure)
    line = [share(a[0] + (b[0] - a[0]) * t / 200, a[1] + (b[1] - a[1]) * t / 200)
            for a, b in zip(trail, trail[1:]) for t in range(201)]
    inside = lambda box, u, v: box[0] <= u <= box[2] and box[1] <= v <= box[3]  # noqa: E731
    # (the top line runs through the trail's last point, the largest D + R, and is visible
    # only near it: its label has nowhere else to go)
    for note in sorted(figure.layout.annotations, key=lambda n: n.x + n.y)[:-1]:
        box = contour_label_box(*share(note.x, note.y))
        assert not any(inside(box, u, v) for u, v in line), note.text
    (knob,) = [t for t in figure.data if t.mode == "markers+text" and t.text[0] == "β→10"]
    box = point_label_box(*share(19.0, 181.0), "β→10", knob.textposition)
    assert knob.textposition != "top right"  # where the trail climbs on
    assert not any(inside(box, u, v) for u, v in line[200:])  # clear of the trail beyond it


def RatePoint_(rate: float, distortion: float):
    from explorer.run_store import RatePoint
    return RatePoint(rate, distortion, 1.0, "sweep beta=1", "s")


def test_a_finished_point_hemmed_in_by_its_trail_still_carries_its_number():
    """Walk 12: a run's green point beside its own trail had no number, while the key named
    it "1": where no place is clear of the trail, the number goes over the trail."""
    from explorer.figures import make_rate_distortion_figure

    angles = np.linspace(0, 2 * np.pi, 80)
    ring = [(8.0 + 1.2 * np.cos(a), 109.5 + 6.0 * np.sin(a)) for a in angles]
    trail = [(1.0, 200.0), (5.0, 150.0)] + ring + [(9.0, 103.0), (30.0, 95.0)]
    figure = make_rate_distortion_figure(trail, [RatePoint_(8.0, 109.5)], live=False)
    (finished,) = [t for t in figure.data if t.name == "finished runs"]
    assert list(finished.text) in (["1"], ["1: β=1 sweep"]) and finished.textposition[0]


def test_the_manifold_grid_and_the_plane_are_squares_of_one_size_side_by_side():
    """The decoded grid and the encodings share one figure: equal domains, one height (so
    the squares are level and the same size at any width), the plane on the first axes
    (clicks and the click tests read it), and the grid's ticks name its codes."""
    axis = np.array([-1.5, -0.5, 0.0, 0.5, 1.5], dtype=np.float32)
    rng = np.random.default_rng(0)
    fig = make_manifold_figure(rng.random((25, 28, 28)), axis, rng.normal(size=(50, 2)),
                               rng.integers(0, 10, 50), click_grid=(3.0, 41))
    left, right = fig.layout.xaxis2.domain, fig.layout.xaxis.domain
    assert right[1] - right[0] == pytest.approx(left[1] - left[0]) and left[1] < right[0]
    assert fig.layout.yaxis2.anchor == "x2" and fig.layout.yaxis2.scaleanchor == "x2"
    assert fig.layout.yaxis.scaleanchor == "x"  # both squares
    assert fig.layout.yaxis2.domain is None and fig.layout.yaxis.domain is None  # one height
    (image,) = [t for t in fig.data if t.type == "image"]
    assert image.xaxis == "x2" and image.source.startswith("data:image/png;base64,")
    assert [t for t in fig.data if t.customdata is not None][0].xaxis in (None, "x")
    assert "−1.5" in fig.layout.xaxis2.ticktext and "1.5" in fig.layout.xaxis2.ticktext
    assert fig.layout.yaxis2.ticktext[0] == "1.5"  # the top row holds the largest z1
    with pytest.raises(ValueError, match="24 images for a 5 x 5 grid"):
        make_manifold_figure(rng.random((24, 28, 28)), axis, np.zeros((0, 2)), np.zeros(0))


def test_a_click_on_a_decoded_grid_cell_reads_as_its_code():
    """The manifold's grid took no clicks (the plane beside it did): each cell now carries
    the code it was decoded from, so a click there decodes that z."""
    from explorer import latent, selection

    axis, codes = latent.manifold_codes(5)
    fig = make_manifold_figure(np.zeros((25, 28, 28)), axis, np.zeros((0, 2)), np.zeros(0))
    (cells,) = [t for t in fig.data if t.type == "scatter" and t.xaxis == "x2"]
    assert np.allclose(np.asarray(cells.customdata), codes)  # cell i decodes codes[i]
    # the cell at row 0, column 4 (top right) is the largest z0 and z1
    top_right = int(np.argmin(np.abs(np.asarray(cells.x) - cells.x[4])
                              + np.abs(np.asarray(cells.y) - cells.y[0])))
    assert top_right == 4 and tuple(codes[4]) == (axis[-1], axis[-1])
    event = {"selection": {"points": [{"x": cells.x[4], "y": cells.y[4],
                                       "customdata": list(cells.customdata[4])}]}}
    assert selection.clicked_xy(event) == pytest.approx(tuple(codes[4]))


def test_a_crowded_plane_names_every_finished_run_by_a_leader_where_none_fits_beside():
    """Six finished runs within a nat of each other: no label fits beside a point without
    lying nearer another point, so each run's number stands off, on a thin leader to its
    own point, clear of the other points and of the other labels (they were named by hover
    only)."""
    from explorer.figures import LABEL_CHAR_SHARE, POINT_LABEL_BOX, make_rate_distortion_figure
    from explorer.run_store import RatePoint

    points = [RatePoint(20.0 + 0.4 * (i % 3), 100.0 + 0.8 * (i // 3), 1.0, f"run {i}", "lab")
              for i in range(6)]
    figure = make_rate_distortion_figure([(1.0, 160.0), (30.0, 95.0)], points)
    span_x = figure.layout.xaxis.range[1]
    low, high = figure.layout.yaxis.range
    share = lambda x, y: (x / span_x, (y - low) / (high - low))  # noqa: E731
    finished = next(t for t in figure.data if t.name == "finished runs")
    leaders = {note.text: note for note in figure.layout.annotations if note.showarrow}
    boxes = []
    for i, (point, text) in enumerate(zip(points, finished.text)):
        if text:
            continue  # named beside its point
        note = leaders[str(i + 1)]  # its number, on a leader to it
        assert (note.x, note.y) == (point.rate, point.distortion)
        assert note.axref == "x" and note.ayref == "y"
        u, v = share(note.ax, note.ay)
        width = 0.02 + LABEL_CHAR_SHARE * len(note.text)
        box = (u - width / 2, v - POINT_LABEL_BOX[1] / 2, u + width / 2, v + POINT_LABEL_BOX[1] / 2)
        assert 0 <= box[0] and box[2] <= 1 and 0 <= box[1] and box[3] <= 1
        for other in points:
            a, b = share(other.rate, other.distortion)
            assert _box_gap(box, a, b) > 0.03  # no label sits on or next to any point
        boxes.append(box)
    assert len(boxes) == 6  # this cluster is too tight for any label beside its point
    for i, a in enumerate(boxes):  # no two numbers overlap
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]



def test_point_labels_fit_a_laptops_half_column():
    """On the live run's plane (a laptop's half column: a plot about 300 px wide, 12 px text
    of about 7 px a character) a label placed beside its point never runs past the plot's
    edges: sized for a 550 px plot, one ran over the y ticks ("100: β=5")."""
    from explorer.figures import place_point_labels, point_label_box

    rng = np.random.default_rng(3)
    for _ in range(200):
        anchors = rng.uniform(0.0, 1.0, size=(3, 2))
        texts = [f"{i + 1}: β={b:g}" for i, b in enumerate(rng.choice([0.25, 5, 10], 3))]
        for anchor, text, place in zip(anchors, texts, place_point_labels(anchors, texts)):
            if place is None:
                continue
            u0, _, u1, _ = point_label_box(*anchor, text, place)
            real = (7 * len(text) + 4) / 300  # the text's width as a share of the plot
            left = u0 if place.endswith("right") else u1 - real
            assert 0 <= left and left + real <= 1, (anchor, text, place)


def test_the_knob_changes_on_the_plane_have_one_legend_key():
    from explorer.figures import make_rate_distortion_figure

    trail = [(float(r), 200.0 - 5 * r) for r in range(20)]
    markers = [(5.0, 175.0, "β→3"), (10.0, 150.0, "β→0.5"), (15.0, 125.0, "β→1")]
    figure = make_rate_distortion_figure(trail, [], markers)
    keyed = [t.name for t in figure.data if t.showlegend is not False and t.name]
    assert keyed.count("knob changes") == 1 and "this run" in keyed and "now" in keyed


def test_each_scored_input_is_drawn_under_its_own_bar():
    """The Images tab's inputs stood in a row of their own, lined up with neither chart's
    bars; now each is drawn in its chart under its bar, below the zero line."""
    from explorer.figures import make_bar_figure

    names = ["test digit", "noise", "scribble", "blank"]
    inputs = [np.full((28, 28), 60 * k, dtype=np.uint8) for k in range(4)]
    figure = make_bar_figure(names, [1.0, 11.0, 0.5, 0.07], "bits/dim", inputs=inputs)
    images = figure.layout.images
    assert [image.x for image in images] == names  # one under each bar, in its order
    assert len({image.source for image in images}) == 4  # each its own picture
    low, high = figure.layout.yaxis.range
    assert high >= 11.0 and low < 0  # the bars whole, a band below 0 for the pictures
    assert all(image.y <= 0 and image.y - image.sizey >= low for image in images)
    assert min(figure.layout.yaxis.tickvals) == 0  # no tick in the pictures' band
    with pytest.raises(ValueError, match="3 inputs for 4 bars"):
        make_bar_figure(names, [1, 2, 3, 4], "bits/dim", inputs=inputs[:3])
    assert not make_bar_figure(names, [1, 2, 3, 4], "p").layout.images  # none asked for


def test_a_filled_contour_draws_no_grid_lines_to_show_past_its_edge():
    """Grid and zero lines under a filled contour showed only as a stray tick at x₂ = 0
    past the square's right edge (walk 18): a contour figure draws none."""
    figure, _ = contour()
    for axis in (figure.layout.xaxis, figure.layout.yaxis):
        assert axis.showgrid is False and axis.zeroline is False


def test_a_knob_label_stands_nearer_its_own_diamond_than_a_finished_runs_point():
    """A knob change's label could sit nearer a finished run's point than its own diamond
    (walk 18), and read as that run's name: it now takes a side where it cannot."""
    import math

    from explorer.figures import make_rate_distortion_figure, point_label_box
    from explorer.run_store import RatePoint

    trail = [(float(r), 130.0 - 2 * r) for r in range(21)]  # down to the right
    for finished in [(11.5, 113.0), (8.5, 113.0), (11.5, 107.0), (8.5, 107.0)]:  # around it
        figure = make_rate_distortion_figure(trail, [RatePoint(*finished, 1.0, "sweep")],
                                             [(10.0, 110.0, "β→10")])
        diamond = next(t for t in figure.data if t.hovertext and t.hovertext[0] == "β→10")
        (x0, x1), (y0, y1) = figure.layout.xaxis.range, figure.layout.yaxis.range

        def share(x, y, x0=x0, x1=x1, y0=y0, y1=y1):
            return (x - x0) / (x1 - x0), (y - y0) / (y1 - y0)

        u0, v0, u1, v1 = point_label_box(*share(10.0, 110.0), "β→10", diamond.textposition)
        centre = ((u0 + u1) / 2, (v0 + v1) / 2)
        assert math.dist(centre, share(10.0, 110.0)) < math.dist(centre, share(*finished)), \
            (finished, diamond.textposition)


def test_a_contour_that_takes_no_clicks_selects_nothing():
    """Clicking the toy tab's middle plot (it takes no clicks) faded its cross, as plotly
    greys the points a selection leaves out (walk 20): such a plot selects nothing."""
    clickable, _ = contour()
    assert clickable.layout.clickmode == "event+select"
    assert make_contour_figure(np.linspace(-4, 4, 61), np.zeros((61, 61))).layout.clickmode \
        == "none"

"""The projector copy of a figure works for every kind of trace the pages draw (bars and
heatmaps have no marker size), enlarges what it should and leaves the original alone."""

import plotly.graph_objects as go
import pytest

from app_pages.common import projector_figure

TRACES = {
    "bar": go.Bar(x=[1, 2], y=[3, 4]),
    "histogram": go.Histogram(x=[1, 2, 2]),
    "heatmap": go.Heatmap(z=[[1, 2], [3, 4]]),
    "scatter": go.Scatter(x=[1, 2], y=[3, 4], mode="lines+markers", marker=dict(size=8),
                          line=dict(width=2)),
    "scatter array sizes": go.Scatter(x=[1, 2], y=[3, 4], mode="markers",
                                      marker=dict(size=[5, 9])),
    "contour": go.Contour(z=[[1, 2], [3, 4]]),
    "image": go.Image(z=[[[0, 0, 0]]]),
}


@pytest.mark.parametrize("kind", TRACES)
def test_every_trace_kind_gets_a_projector_copy(kind):
    figure = go.Figure(TRACES[kind])
    big = projector_figure(figure)
    assert big.layout.font.size >= 24
    assert figure.layout.font.size is None  # the shared original is untouched


def test_lines_and_markers_grow():
    figure = go.Figure(TRACES["scatter"])
    big = projector_figure(figure)
    assert big.data[0].marker.size == 12 and big.data[0].line.width == 4
    assert figure.data[0].marker.size == 8 and figure.data[0].line.width == 2


def test_subplot_titles_grow_too():
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=("ε ~ N(0, 1)", "z = μ + σ ε"))
    figure.add_trace(go.Scatter(x=[1], y=[1]), row=1, col=1)
    big = projector_figure(figure)
    assert all(note.font.size >= 24 for note in big.layout.annotations)
    assert big.layout.margin.t > (figure.layout.margin.t or 50)  # room above for them
    assert all(note.font.size is None or note.font.size < 20
               for note in figure.layout.annotations)  # the original is untouched


def test_a_title_of_two_lines_gets_room_for_both():
    """The reparameterization planes' titles broke into two lines (one line was cut in a
    projector's narrow column): the room above the plots is that of two lines of 24 px."""
    from plotly.subplots import make_subplots

    def top_margin(title: str) -> float:
        figure = make_subplots(rows=1, cols=2, subplot_titles=(title, "z"))
        figure.update_layout(margin=dict(t=30))
        return projector_figure(figure).layout.margin.t

    one, two = top_margin("noise ε ~ N(0, I)"), top_margin("noise ε ~ N(0, I)<br>rings at 1 and 2")
    assert two >= 30 - 20 + 2 * 1.4 * 24 and two > one, (one, two)


def test_value_labels_on_bars_grow():
    figure = go.Figure(go.Bar(x=[1, 2], y=[3, 4], text=["3.00", "4.00"],
                              textfont=dict(size=12)))
    assert projector_figure(figure).data[0].textfont.size >= 24
    assert figure.data[0].textfont.size == 12


def test_a_label_inside_the_plot_adds_no_top_margin():
    """The 256-way chart's "taken" label lies on a bar: 30 px more above it only shrank the
    bars (walk 11: the chart small in projector view)."""
    figure = go.Figure(go.Bar(x=[0, 1], y=[1, 0]))
    figure.update_layout(margin=dict(t=20), annotations=[dict(x=0, y=1, text="taken: 0")])
    big = projector_figure(figure)
    assert big.layout.annotations[0].font.size >= 24 and big.layout.margin.t == 20

"""explorer.selection on recorded browser payloads and on every other shape an event can
take. The recorded ones (tests/data/selection/*.json) go through Streamlit's own
deserializer, so the test sees exactly the object a page gets."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.elements.plotly_chart import PlotlyChartSelectionSerde

from explorer import selection
from explorer.selection import SelectedPoint

RECORDED = Path(__file__).parent / "data" / "selection"


def recorded(name: str):
    """The recorded event as Streamlit hands it to a page: a PlotlyState."""
    event = json.loads((RECORDED / f"{name}.json").read_text())["event"]
    return PlotlyChartSelectionSerde().deserialize(json.dumps(event))


def test_every_recording_is_used_by_a_test():
    names = {path.stem for path in RECORDED.glob("*.json")}
    assert names == set(CLICKS) | set(SELECTIONS) | {"gen_vs_disc_no_selection"}


# ---- the two crashes: typed-array rows arrive as {"0": x, "1": y} --------------------
CLICKS = {  # recording -> (x, y) the clicked grid point carries
    "gen_vs_disc_click_centre": (0.0, 0.0),
    "gen_vs_disc_click_left_edge": (-3.7333333333333334, 0.0),
    "latent_manifold_click_centre": (0.0, 0.1499999999999999),
    "latent_manifold_click_bottom_right": (2.8499999999999996, -3.0),
    "gen_vs_disc_click_top_left": (-3.7333333333333334, 4.0),
    "gen_vs_disc_click_bottom_right": (4.0, -3.7333333333333334),
    "latent_manifold_click_top_left": (-3.0, 3.0),
    "latent_manifold_click_top_edge": (0.0, 3.0),
}


@pytest.mark.parametrize("name", sorted(CLICKS))
def test_recorded_clicks_give_the_grid_point(name):
    event = recorded(name)
    raw = event.selection.points[0]["customdata"]
    assert isinstance(raw, dict) and set(raw) == {"0", "1"}  # the shape that crashed
    with pytest.raises(TypeError, match="unhashable type: 'slice'"):
        raw[:2]  # what the pages did
    assert selection.clicked_xy(event) == CLICKS[name]
    point = selection.first_point(event)
    assert point.customdata == CLICKS[name] and point.xy == CLICKS[name]
    assert point.curve_number in (2, 10) and point.point_index is not None


def test_no_selection_yet_is_none_everywhere():
    event = recorded("gen_vs_disc_no_selection")
    assert selection.parse_selection(event).empty
    assert selection.first_point(event) is None
    assert selection.clicked_xy(event) is None
    assert selection.clicked_customdata(event) is None
    assert selection.clicked_number(event) is None


# ---- recorded box and lasso selections ---------------------------------------------
SELECTIONS = ("contour_box_select", "latent_scatter_lasso", "distribution_bars_box",
              "density_box_no_points", "taxonomy_box", "list_customdata_box")


def test_a_recorded_box_over_the_contour():
    parsed = selection.parse_selection(recorded("contour_box_select"))
    (box,) = parsed.boxes
    assert box.x_range[0] < 0 < box.x_range[1] and box.y_range[0] < 0 < box.y_range[1]
    assert (box.xref, box.yref) == ("x", "y") and not parsed.lassos
    grid = [p for p in parsed.points if p.curve_number == 2]
    assert grid and all(p.customdata == p.xy for p in grid)  # {"0","1"} rows read right
    inside = [p for p in parsed.points if p.xy is not None]
    assert all(box.x_range[0] <= p.xy[0] <= box.x_range[1] for p in inside)
    assert parsed.point_indices and all(isinstance(i, int) for i in parsed.point_indices)


def test_a_recorded_lasso_over_the_latent_scatter():
    parsed = selection.parse_selection(recorded("latent_scatter_lasso"))
    (lasso,) = parsed.lassos
    assert len(lasso.x) == len(lasso.y) >= 3 and not parsed.boxes
    data_points = [p for p in parsed.points if p.curve_number != 10]
    assert data_points and all(p.customdata is None for p in data_points)
    assert selection.clicked_customdata(parsed_event := recorded("latent_scatter_lasso")) \
        == selection.first_point(parsed_event, curve_number=10).customdata
    assert selection.clicked_xy(parsed_event) == data_points[0].xy  # first point, own x, y


def test_recorded_scalar_string_and_list_customdata():
    bars = recorded("distribution_bars_box")
    assert isinstance(selection.clicked_customdata(bars), int)
    assert selection.clicked_number(bars) == selection.first_point(bars).x
    family = selection.clicked_customdata(recorded("taxonomy_box"))
    assert isinstance(family, str) and family == "approximate"
    lists = selection.parse_selection(recorded("list_customdata_box"))
    assert [p.customdata for p in lists.points] == [(0, "a"), (1, "b"), (2, "c"), (3, "d")]
    assert selection.clicked_number(recorded("list_customdata_box")) == 0.0


def test_a_recorded_box_with_no_points():
    parsed = selection.parse_selection(recorded("density_box_no_points"))
    assert not parsed.points and len(parsed.boxes) == 1 and not parsed.empty
    assert selection.clicked_xy(recorded("density_box_no_points")) is None


# ---- every other shape ---------------------------------------------------------------
POINT = {"curve_number": 2, "point_number": 7, "point_index": 7, "x": 1.5, "y": -2.0}


@pytest.mark.parametrize("customdata", [
    [1.5, -2.0], (1.5, -2.0), {"0": 1.5, "1": -2.0}, {"1": -2.0, "0": 1.5},
    {0: 1.5, 1: -2.0}, np.array([1.5, -2.0]), [np.float32(1.5), np.float64(-2.0)],
    {"dtype": "f8", "bdata": base64.b64encode(np.array([1.5, -2.0]).tobytes()).decode()},
    [1.5, -2.0, "extra"],
])
def test_customdata_in_every_shape_gives_the_same_pair(customdata):
    event = {"selection": {"points": [{**POINT, "customdata": customdata}]}}
    assert selection.clicked_xy(event) == (1.5, -2.0)
    assert selection.clicked_customdata(event)[:2] == (1.5, -2.0)


@pytest.mark.parametrize("event", [
    None, {}, [], (), "text", 3, {"selection": None}, {"selection": {}},
    {"selection": {"points": None, "box": None, "lasso": None, "point_indices": None}},
    {"selection": {"points": [None, "x", 5, {}]}},
    SimpleNamespace(), SimpleNamespace(selection=None),
    SimpleNamespace(selection=SimpleNamespace(points=[])),
])
def test_empty_and_malformed_events_are_empty_selections(event):
    parsed = selection.parse_selection(event)
    assert parsed.empty
    assert selection.clicked_xy(event) is None
    assert selection.clicked_customdata(event) is None
    assert selection.clicked_number(event) is None


def test_the_event_can_be_the_selection_a_point_list_or_attribute_style():
    point = {**POINT, "customdata": {"0": 3.0, "1": 4.0}}
    shapes = [
        {"selection": {"points": [point]}},
        {"points": [point]},
        [point],
        SimpleNamespace(selection=SimpleNamespace(points=[SimpleNamespace(**point)])),
        {"selection": {"points": {"0": point}}},  # a points array serialised as a mapping
        PlotlyChartSelectionSerde().deserialize(json.dumps({"selection": {"points": [point]}})),
    ]
    for event in shapes:
        assert selection.clicked_xy(event) == (3.0, 4.0), event
        assert selection.first_point(event) == SelectedPoint(1.5, -2.0, (3.0, 4.0), 7, 2)


def test_camel_case_keys_from_plotly_js():
    event = {"selection": {"points": [{"curveNumber": 1, "pointIndex": 4, "x": 0.5, "y": 0.25,
                                       "customData": 9}], "pointIndices": [4]}}
    parsed = selection.parse_selection(event)
    assert parsed.points == (SelectedPoint(0.5, 0.25, 9, 4, 1),) and parsed.point_indices == (4,)


def test_missing_keys_and_non_numbers():
    event = {"selection": {"points": [{"x": "2024-01-01", "y": None},
                                      {"customdata": ["a", "b"], "x": "cat", "y": 1},
                                      {"x": float("nan"), "y": 1, "customdata": [float("inf"), 0]},
                                      {"x": 4, "y": 5}]}}
    assert selection.clicked_xy(event) == (4.0, 5.0)  # the first point with two numbers
    assert selection.clicked_customdata(event) == ("a", "b")
    assert selection.clicked_number(event) == 4.0
    only_y = {"selection": {"points": [{"y": 3}]}}
    assert selection.first_point(only_y).xy is None and selection.clicked_xy(only_y) is None


def test_curve_filter_and_customdata_filter():
    event = {"selection": {"points": [{"curve_number": 0, "x": 1, "y": 1},
                                      {"curve_number": 3, "x": 2, "y": 2, "customdata": "k"}]}}
    assert selection.first_point(event, curve_number=3).x == 2
    assert selection.first_point(event, with_customdata=True).customdata == "k"
    assert selection.first_point(event, curve_number=5) is None


def test_boxes_and_lassos_in_odd_shapes():
    event = {"selection": {
        "box": [{"x": {"0": 2.0, "1": -1.0}, "y": [0, 1]}, {"x": [1], "y": [0, 1]}, None],
        "lasso": [{"x": [0, 1, 1], "y": [0, 0, 1], "xref": "x2", "yref": "y2"},
                  {"x": [0, 1], "y": [0]}, {"x": [0, "a"], "y": [0, 1]}]}}
    parsed = selection.parse_selection(event)
    assert [(b.x_range, b.y_range) for b in parsed.boxes] == [((-1.0, 2.0), (0.0, 1.0))]
    assert [(las.x, las.y, las.xref) for las in parsed.lassos] == [
        ((0.0, 1.0, 1.0), (0.0, 0.0, 1.0), "x2")]


def test_plain_turns_containers_into_plain_python():
    assert selection.plain(np.int64(3)) == 3 and type(selection.plain(np.int64(3))) is int
    assert selection.plain(np.array([[1, 2], [3, 4]])) == ((1, 2), (3, 4))
    assert selection.plain({"label": np.float32(0.5)}) == {"label": 0.5}
    assert selection.plain({"0": {"0": 1, "1": 2}, "1": [3]}) == ((1, 2), (3,))
    two_d = {"dtype": "i4", "bdata": base64.b64encode(np.arange(4, dtype="<i4").tobytes())
             .decode(), "shape": "2,2"}
    assert selection.plain(two_d) == ((0, 1), (2, 3))


"""Chart selections as plain values: what st.plotly_chart(on_select="rerun") returns for a
click, box or lasso, read without trusting its shape.

Streamlit hands back a PlotlyState (a read-only dict with attribute access) whose
`selection` holds `points`, `point_indices`, `box` and `lasso`. A point's `customdata`
arrives in whatever form plotly.js kept it: a list when the figure was built from lists,
but a mapping {"0": x, "1": y} when the figure was built from a NumPy array (plotly.py
sends arrays as typed arrays, and a typed-array row serialises to JSON as an object;
slicing it raised TypeError: unhashable type: 'slice'). Keys can be snake_case
(Streamlit) or camelCase (plotly.js), and any of them can be missing.

parse_selection() accepts all of that (None, mappings, attribute-style objects, the
selection alone or a bare list of points) and returns a Selection of plain Python values;
clicked_xy, clicked_customdata and clicked_number answer what a page usually asks.
No Streamlit import: pages pass in what the widget returned.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Plain = Any  # None, bool, int, float, str, a tuple of Plain or a dict str -> Plain


@dataclass(frozen=True)
class SelectedPoint:
    x: Plain = None  # data coordinate: number, category or date string, or None
    y: Plain = None
    customdata: Plain = None  # scalar, or a tuple for per-point arrays ({"0": a} -> (a,))
    point_index: int | None = None  # index of the point within its trace
    curve_number: int | None = None  # index of the trace in fig.data

    @property
    def xy(self) -> tuple[float, float] | None:
        """(x, y) as finite floats, or None when either is missing or not a number."""
        x, y = as_float(self.x), as_float(self.y)
        return None if x is None or y is None else (x, y)


@dataclass(frozen=True)
class Box:
    x_range: tuple[float, float]  # (low, high) in data units of the x axis
    y_range: tuple[float, float]
    xref: str = "x"  # which axes the box was drawn on
    yref: str = "y"


@dataclass(frozen=True)
class Lasso:
    x: tuple[float, ...]  # polygon vertices in data units, in drawing order
    y: tuple[float, ...]
    xref: str = "x"
    yref: str = "y"


@dataclass(frozen=True)
class Selection:
    points: tuple[SelectedPoint, ...] = ()
    point_indices: tuple[int, ...] = ()
    boxes: tuple[Box, ...] = ()
    lassos: tuple[Lasso, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.points or self.point_indices or self.boxes or self.lassos)


# ---- reading any container ----------------------------------------------------------
def _get(container: Any, *names: str) -> Any:
    """The first of `names` found in a mapping or as an attribute; None when absent.
    Never raises (attribute-style dictionaries raise AttributeError or KeyError)."""
    if container is None:
        return None
    for name in names:
        if isinstance(container, Mapping):
            try:
                if name in container:
                    return container[name]
            except Exception:  # a mapping that refuses the lookup
                continue
        else:
            try:
                value = getattr(container, name)
            except Exception:
                continue
            if not callable(value):
                return value
    return None


def _items(value: Any) -> list[Any]:
    """A list, tuple, array or {"0": a, "1": b} mapping -> list of its items; else []."""
    if value is None or isinstance(value, (str, bytes)):
        return []
    if isinstance(value, Mapping):
        sequence = _indexed_mapping(value)
        return list(sequence) if sequence is not None else []
    if isinstance(value, np.ndarray):
        return list(value.tolist()) if value.ndim else []
    if isinstance(value, Iterable):
        try:
            return list(value)
        except Exception:
            return []
    return []


def _indexed_mapping(value: Mapping) -> tuple | None:
    """{"0": a, "1": b} (a serialised typed array) -> (a, b); None for other mappings."""
    try:
        keys = [int(str(key)) for key in value.keys()]
    except (TypeError, ValueError):
        return None
    if sorted(keys) != list(range(len(keys))):
        return None
    by_index = {int(str(key)): item for key, item in value.items()}
    return tuple(by_index[i] for i in range(len(keys)))


_TYPED_ARRAY_DTYPES = {"f8": "<f8", "f4": "<f4", "i4": "<i4", "u4": "<u4", "i2": "<i2",
                       "u2": "<u2", "i1": "i1", "u1": "u1", "u1c": "u1"}


def _typed_array(value: Mapping) -> tuple | None:
    """plotly.py's typed-array encoding {"dtype": "f8", "bdata": base64, "shape": ...}
    -> a tuple of numbers (rows as tuples when 2-D); None when it is not one."""
    dtype = _TYPED_ARRAY_DTYPES.get(str(value.get("dtype")))
    if dtype is None or not isinstance(value.get("bdata"), str):
        return None
    try:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=dtype)
        shape = value.get("shape")
        if shape is not None:
            dims = [int(s) for s in str(shape).split(",")] if not isinstance(shape, (list, tuple)) \
                else [int(s) for s in shape]
            array = array.reshape(dims)
    except (ValueError, TypeError):
        return None
    return plain(array)


def plain(value: Any) -> Plain:
    """Any customdata-like value -> plain Python: numbers and strings as they are (NumPy
    scalars unwrapped), lists/tuples/arrays and {"0": a, "1": b} mappings -> tuples,
    plotly typed arrays decoded, anything else -> its str()."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return plain(value.tolist()) if value.ndim else value.item()
    if isinstance(value, Mapping):
        decoded = _typed_array(value)
        if decoded is not None:
            return decoded
        sequence = _indexed_mapping(value)
        if sequence is not None:
            return tuple(plain(item) for item in sequence)
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(plain(item) for item in value)
    return str(value)


def as_float(value: Any) -> float | None:
    """A finite float from a number or numeric string; None otherwise (bools too)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _as_int(value: Any) -> int | None:
    number = as_float(value)
    return int(number) if number is not None and number == int(number) else None


def _pair(value: Any) -> tuple[float, float] | None:
    items = [as_float(item) for item in _items(value)]
    if len(items) < 2 or items[0] is None or items[-1] is None:
        return None
    low, high = items[0], items[-1]
    return (min(low, high), max(low, high))


# ---- the parser ---------------------------------------------------------------------
def parse_point(point: Any) -> SelectedPoint | None:
    """One point (mapping or attribute object) -> SelectedPoint; None when it is not one
    or carries none of x, y, customdata, point index and curve number."""
    if point is None or isinstance(point, (str, bytes, int, float)):
        return None
    parsed = SelectedPoint(
        x=plain(_get(point, "x")),
        y=plain(_get(point, "y")),
        customdata=plain(_get(point, "customdata", "customData")),
        point_index=_as_int(_get(point, "point_index", "pointIndex", "point_number",
                                 "pointNumber")),
        curve_number=_as_int(_get(point, "curve_number", "curveNumber")))
    return None if parsed == SelectedPoint() else parsed


def parse_selection(event: Any) -> Selection:
    """Whatever st.plotly_chart(on_select="rerun") returned -> Selection.

    Accepts None (no event), the PlotlyState, a plain dict {"selection": {...}}, the
    selection itself ({"points": [...], ...}), an object with attributes, or a bare list
    of points. Missing parts are empty; malformed entries are skipped, never raised.
    """
    if event is None:
        return Selection()
    if isinstance(event, (list, tuple)):
        selection: Any = {"points": event}
    else:
        selection = _get(event, "selection")
        if selection is None:
            selection = event  # already the selection, or something without one
    points = tuple(p for p in (parse_point(item) for item in _items(
        _get(selection, "points"))) if p is not None)
    indices = tuple(i for i in (_as_int(item) for item in _items(
        _get(selection, "point_indices", "pointIndices"))) if i is not None)
    boxes, lassos = [], []
    for raw in _items(_get(selection, "box")):
        x_range, y_range = _pair(_get(raw, "x")), _pair(_get(raw, "y"))
        if x_range and y_range:
            boxes.append(Box(x_range, y_range, str(_get(raw, "xref") or "x"),
                             str(_get(raw, "yref") or "y")))
    for raw in _items(_get(selection, "lasso")):
        xs = tuple(as_float(v) for v in _items(_get(raw, "x")))
        ys = tuple(as_float(v) for v in _items(_get(raw, "y")))
        if xs and len(xs) == len(ys) and None not in xs and None not in ys:
            lassos.append(Lasso(xs, ys, str(_get(raw, "xref") or "x"),
                                str(_get(raw, "yref") or "y")))
    return Selection(points, indices, tuple(boxes), tuple(lassos))


# ---- what pages ask -----------------------------------------------------------------
def first_point(event: Any, curve_number: int | None = None,
                with_customdata: bool = False) -> SelectedPoint | None:
    """The first selected point (of one trace when curve_number is given; only points
    that carry customdata when with_customdata), or None."""
    for point in parse_selection(event).points:
        if curve_number is not None and point.curve_number != curve_number:
            continue
        if with_customdata and point.customdata is None:
            continue
        return point
    return None


def clicked_customdata(event: Any) -> Plain:
    """The customdata of the first selected point that has one (plain value: scalar or
    tuple), or None."""
    point = first_point(event, with_customdata=True)
    return None if point is None else point.customdata


def clicked_xy(event: Any, from_customdata: bool = True) -> tuple[float, float] | None:
    """Where the first selected point is, as finite floats (x, y): its customdata's first
    two numbers when from_customdata and it has them (the clickable grids carry their
    (x, y) there), else the point's own x and y; None when nothing usable was clicked."""
    for point in parse_selection(event).points:
        if from_customdata:
            items = point.customdata if isinstance(point.customdata, tuple) else ()
            numbers = [as_float(v) for v in items[:2]]
            if len(numbers) == 2 and None not in numbers:
                return numbers[0], numbers[1]
        if point.xy is not None:
            return point.xy
    return None


def clicked_number(event: Any) -> float | None:
    """A single number from the first selected point: its customdata when that is a
    number (or a tuple starting with one), else its x; None when there is none."""
    for point in parse_selection(event).points:
        data = point.customdata
        number = as_float(data[0] if isinstance(data, tuple) and data else data)
        if number is None:
            number = as_float(point.x)
        if number is not None:
            return number
    return None

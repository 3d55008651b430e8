"""Plotly figure builders: pure functions from arrays/data to go.Figure (no streamlit)."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from explorer import imaging, taxonomy
from explorer.typeset import probability_column, scientific, signed, value_path  # noqa: F401  (pages use them from here)

PALETTE = {"page": "#2563eb", "no_page": "#94a3b8", "group": "#475569", "selected": "#f97316"}
FONT = dict(family="Inter, Segoe UI, sans-serif", size=14)


ACTIVE_KL_LABEL = "0.01"  # nats: elbo_lab.ACTIVE_KL_NATS, the lab's threshold of activity
UNTITLED_TOP_PX = 20  # a chart's top margin without a title: where its plot starts
LEGEND_FOOT_PX = 85  # bottom margin of a chart with its legend at its foot (x title above)
PLANE_FOOT_PX = 110  # the rate-distortion plane's (and the KL bars beside it): its legend
# takes two rows in a laptop's half column once a run has ended ("this run (ended)",
# "finished runs", "knob changes"), and one row ran the x title over the tick labels


def _layout(height: int, title: str | None = None, right: int = 20, **extra) -> dict:
    """The shared layout as a plain dict. Margins leave room for tick labels and axis titles
    (charts are drawn with theme=None, so nothing else adds that room)."""
    return dict(height=height, margin=dict(l=70, r=right, t=50 if title else UNTITLED_TOP_PX,
                                           b=55),
                font=FONT, title=dict(text=title, font=dict(size=15)) if title else None,
                plot_bgcolor="white", paper_bgcolor="white", **extra)


def _fast_figure(data: list[dict], layout: dict) -> go.Figure:
    """One go.Figure from plain dicts, skipping plotly's per-property validation (~20 ms a
    figure): used for figures redrawn every second or every sampling step."""
    return go.Figure(data=data, layout=layout, _validate=False)


def _axis(title: str, **extra) -> dict:
    return dict(title=dict(text=title), showgrid=True, gridcolor="#eef2f7", **extra)


KNOB_SYMBOLS = {"beta": "β", "sigma": "σ", "free_bits": "free bits",
                "learning_rate": "learning rate"}  # as the ELBO lab's sliders name them


def knob_label(name: str, value: float, changed: bool = False) -> str:
    """'β=2': a knob named as its slider is; 'β→2' for a change to that value mid-run (so a
    change is not read as a finished run at that value)."""
    return f"{KNOB_SYMBOLS.get(name, name)}{'→' if changed else '='}{value:g}"


def _base_layout(fig: go.Figure, height: int = 360, title: str | None = None) -> go.Figure:
    fig.update_layout(**_layout(height, title))
    return fig


def _wrap_label(label: str, width: int = 18) -> str:
    """Break a label at its last space before `width` characters, with a <br> tag."""
    if len(label) <= width or " " not in label[:width]:
        return label
    cut = label.rfind(" ", 0, width)
    return label[:cut] + "<br>" + label[cut + 1:]


def make_taxonomy_figure(selected: str | None = None) -> go.Figure:
    """The taxonomy as a clickable tree; each marker carries its family key as customdata."""
    positions = taxonomy.tree_layout()
    fig = go.Figure()
    edge_x, edge_y = [], []
    for family in taxonomy.FAMILIES:
        if family.parent:
            (x0, y0), (x1, y1) = positions[family.parent], positions[family.key]
            bend = x0 + 0.55 * (x1 - x0)  # a group's label clears its own elbow
            edge_x += [x0, bend, bend, x1, None]
            edge_y += [y0, y0, y1, y1, None]
    fig.add_trace(go.Scatter(x=edge_x, y=edge_y, mode="lines", hoverinfo="skip",
                             line=dict(color="#cbd5e1", width=2), showlegend=False))
    keys = [f.key for f in taxonomy.FAMILIES]
    colours = []
    for family in taxonomy.FAMILIES:
        if family.key == selected:
            colours.append(PALETTE["selected"])
        elif taxonomy.children(family.key):
            colours.append(PALETTE["group"])
        else:
            colours.append(PALETTE["page"] if family.page else PALETTE["no_page"])
    fig.add_trace(go.Scatter(
        x=[positions[k][0] for k in keys], y=[positions[k][1] for k in keys],
        mode="markers+text",
        # long leaf labels wrap instead of running off the right; group labels are drawn
        # below as annotations
        text=["" if taxonomy.children(f.key) else _wrap_label(f.label)
              for f in taxonomy.FAMILIES],
        hovertext=[f.label for f in taxonomy.FAMILIES],
        textposition="middle right",
        customdata=keys, marker=dict(size=[26 if k == selected else 20 for k in keys],
                                     color=colours, line=dict(color="white", width=2)),
        hovertemplate="%{hovertext}<br>click for details<extra></extra>", showlegend=False))
    # group labels: one word per line, centred above their node (within half a level either
    # side, so they never reach the next level's labels on a laptop's narrow column), on a
    # translucent white ground: a connector passing behind stays visible (an opaque ground
    # hid the one to the VAE leaf, which then looked detached) but fades under the letters
    # A label goes above its node unless a sibling lies above it: there the parent's
    # vertical connector runs through the space above the node, and the label goes below
    # (where that connector has ended) so it never covers it at a projector's text size.
    for family in taxonomy.FAMILIES:
        if taxonomy.children(family.key):
            x, y = positions[family.key]
            siblings = [positions[f.key][1] for f in taxonomy.FAMILIES
                        if family.parent and f.parent == family.parent]
            above = not any(other > y for other in siblings)
            fig.add_annotation(x=x, y=y, yshift=13 if above else -13,
                               yanchor="bottom" if above else "top", showarrow=False,
                               text=family.label.replace(" ", "<br>", 1),
                               bgcolor="rgba(255,255,255,0.55)",
                               borderpad=1, font=dict(size=12))  # narrower than the gap
                               # between a node and the connectors either side (half a level)
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    fig.update_xaxes(visible=False, range=[min(xs) - 0.6, max(xs) + 2.7])
    fig.update_yaxes(visible=False, range=[min(ys) - 0.6, max(ys) + 1.0])
    fig.update_layout(clickmode="event+select", dragmode=False)
    return _base_layout(fig, height=430)


KNOB_LABEL_ROWS = 3  # rows of knob-change labels above a curves chart
KNOB_ROW_PX = 15  # their spacing at 11 px text (projector_figure scales it with the text)


def make_curves_figure(records: Sequence[dict[str, float]], keys: Sequence[str],
                       markers: Sequence[dict] = (), x_key: str = "step",
                       y_title: str = "nats per image", title: str | None = None,
                       secondary: Sequence[str] = (), secondary_title: str = "",
                       max_points: int = 400, names: dict[str, str] | None = None
                       ) -> go.Figure:
    """Line per logged key against steps (keys in `secondary` on a right-hand axis), with a
    dashed vertical line per knob change. At most max_points points per line are drawn."""
    stride = max(1, len(records) // max_points)
    shown = list(records[::stride])
    if records and shown[-1] is not records[-1]:
        shown.append(records[-1])
    xs = [r[x_key] for r in shown]
    data = [dict(type="scatter", x=xs, y=[r.get(key, np.nan) for r in shown], mode="lines",
                 name=(names or {}).get(key, key), yaxis="y2" if key in secondary else "y")
            for key in keys]
    shapes = [dict(type="line", xref="x", yref="paper", x0=m["step"], x1=m["step"], y0=0, y1=1,
                   line=dict(dash="dash", color="#f97316", width=1)) for m in markers]
    # only the latest changes that lie apart are labelled, in KNOB_LABEL_ROWS staggered
    # rows above the plot, so labels never pile up and never sit on a curve (inside the
    # plot one hid the KL curve); every change keeps its line
    steps = [r[x_key] for r in records] or [0]
    markers = list(markers)
    labelled = [markers[i] for i in labelled_changes(markers, max(steps) - min(steps))]
    notes = [dict(xref="x", yref="paper", x=m["step"], y=1, yanchor="bottom",
                  yshift=2 + KNOB_ROW_PX * (i % KNOB_LABEL_ROWS),
                  text=knob_label(m["name"], m["value"], changed=True), showarrow=False,
                  xanchor="center", font=dict(size=11))  # over its line, read as its own
             for i, m in enumerate(labelled)]
    # the legend under the axis: the band above the plot is the knob labels'
    layout = _layout(370, title, shapes=shapes, annotations=notes,
                     xaxis=_axis(x_key), yaxis=_axis(y_title, rangemode="tozero"),
                     legend=dict(orientation="h", x=0, y=0, yref="container",
                                 yanchor="bottom"),
                     showlegend=True)  # one curve too: charts side by side keep one frame
    layout["margin"]["t"] = (40 if title else 8) + KNOB_LABEL_ROWS * KNOB_ROW_PX
    layout["margin"]["b"] = LEGEND_FOOT_PX
    if title:  # at the figure's top edge (plotly centres it in the margin: on the labels),
        # from the plot's left edge (centred, its end lay under the mode bar on hover)
        layout["title"].update(y=1, yref="container", yanchor="top", pad=dict(t=10, l=8),
                               x=0, xref="container", xanchor="left")
    if secondary:
        # round ticks from zero (1, 2, 2.5 or 5 times a power of ten), never below zero
        values = [r.get(key, np.nan) for r in shown for key in secondary]
        ticks = nice_ticks(float(np.nanmax(values)) if np.isfinite(values).any() else 1.0)
        # both zeros at one height, a little above the bottom (at the corner the right
        # axis's 0 ran into the last step's tick label, "0" over "1500"): the left axis's
        # range is set, and the right one's 0 put at the same share of the plot
        # (when the left axis has values above 0; one wholly below 0, an ELBO, keeps its
        # 0 at the top and the right axis its 0 at the bottom)
        primary = [r.get(key, np.nan) for r in shown for key in keys if key not in secondary]
        finite = [v for v in primary if np.isfinite(v)] or [0.0, 1.0]
        low, high = min(0.0, min(finite)), max(0.0, max(finite))
        span = (high - low) or 1.0
        zero = 0.06 / 1.08  # share of the plot's height below the right axis's 0
        if high > 0:
            layout["yaxis"]["range"] = [low - 0.06 * span, high + 0.04 * span]
            zero = (0.06 * span - low) / (1.1 * span)
        right_top = ticks[-1] * 1.02
        layout["yaxis2"] = dict(title=dict(text=secondary_title), overlaying="y", side="right",
                                showgrid=False,
                                range=[-zero / (1 - zero) * right_top, right_top],
                                tickmode="array", tickvals=ticks)
        layout["margin"]["r"] = 70
    return _fast_figure(data, layout)


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Tick values 0, s, 2s, .. up to at least `top`, with about `count` steps and s one of
    1, 2, 2.5 or 5 times a power of ten (non-positive or non-finite `top`: 0 and 1)."""
    if not np.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    steps = int(np.ceil(top / step - 1e-9))
    return [round(i * step, 10) for i in range(steps + 1)]


# toy classes: 0 red and 1 blue, the ends of the RdBu scale used for p(y=1|x)
CLASS_COLOURS = ["#dc2626", "#2563eb", "#16a34a"]
CONTOUR_BAR_TOP = 8  # px from a contour figure's top to its colour bar (a title adds 30)
CONTOUR_BAR_ROOM = 50  # px from the bar's top to the plot: the bar and its tick labels


def class_key(classes: Sequence[int]) -> str:
    """Which colour is which class on the toy-data plots, as HTML for st.markdown (the
    plots' own colours, which Streamlit's named Markdown colours are not): a coloured dot
    and "class 0", "class 1", ... Raises IndexError past len(CLASS_COLOURS) classes."""
    return "Points: " + " &nbsp; ".join(
        f'<span style="color:{CLASS_COLOURS[c]}">●</span> class {c}'
        for c in sorted(int(c) for c in classes))


MAX_MARK_LABELS = 6  # knob changes labelled on a curve (all are drawn as lines)
MIN_LABEL_GAP = 0.08  # labelled knob changes lie at least this share of the plot apart


def spaced_labels(positions: Sequence[Sequence[float]], spans: Sequence[float],
                  limit: int = MAX_MARK_LABELS, gap: float = MIN_LABEL_GAP) -> list[int]:
    """Which of a sequence of marks (oldest first) get a label: the newest first, then each
    older one at least `gap` of the plot away (per axis, positions divided by `spans`)
    from every labelled one, at most `limit`. Quick knob changes lie close together, and
    their labels would pile up into unreadable text. Returns indices, ascending."""
    kept: list[int] = []
    scaled = [[v / max(span, 1e-12) for v, span in zip(p, spans)] for p in positions]
    for index in range(len(scaled) - 1, -1, -1):
        if len(kept) >= limit:
            break
        if all(max(abs(a - b) for a, b in zip(scaled[index], scaled[k])) >= gap for k in kept):
            kept.append(index)
    return sorted(kept)


BURST_SHARE = 0.02  # changes of one knob this close (share of the run's steps) form a burst


def settled_marks(markers: Sequence[dict], span: float, share: float = BURST_SHARE
                  ) -> list[int]:
    """Indices of the knob changes that stood: a change followed by another change of the
    same knob within `share` of `span` steps (a burst of arrow-key presses or a drag) is
    left out, so every chart labels a burst by where it ended ("β→10", never its first
    press "β→1"). Markers are dicts with "name" and "step", oldest first."""
    window = share * max(span, 0.0)
    return [i for i, m in enumerate(markers)
            if not any(n["name"] == m["name"] and 0 <= n["step"] - m["step"] <= window
                       for n in markers[i + 1:])]


def labelled_changes(markers: Sequence[dict], span: float) -> list[int]:
    """Which knob changes carry a label, on the curves and on the rate-distortion plane
    alike (one rule, so a change named on one chart is named on the other): the changes
    that stood (settled_marks), the newest first, spaced along the steps (spaced_labels).
    Indices into `markers`, ascending."""
    stood = settled_marks(markers, span)
    return [stood[i] for i in spaced_labels([(markers[i]["step"],) for i in stood], [span])]


MAX_FINISHED_POINTS = 12  # finished runs drawn on the rate-distortion plane (the latest)
DIGIT_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"]


def make_latent_scatter_figure(points: np.ndarray, labels: np.ndarray, title: str | None = None,
                               click_grid: tuple[float, int] | None = None,
                               marked: np.ndarray | None = None,
                               axis_titles: tuple[str, str] = ("z0", "z1")) -> go.Figure:
    """Encodings coloured by label, points (N, 2) float, labels (N,) int in 0..9, on equal
    scales in a square window [-span, span]^2. click_grid=(span, n) sets the span and adds
    an invisible n x n grid of clickable points whose customdata is their (z0, z1):
    dimensions are counted from 0, as on the latent sliders. Without it the span is the
    largest |coordinate| plus 5%, so side-by-side plots have the same size."""
    fig = go.Figure()
    for digit in range(10):
        chosen = labels == digit
        fig.add_trace(go.Scattergl(x=points[chosen, 0], y=points[chosen, 1], mode="markers",
                                   name=str(digit), marker=dict(size=3, opacity=0.6,
                                                                color=DIGIT_COLOURS[digit]),
                                   hoverinfo="skip"))
    if click_grid is not None:
        span, n = click_grid
        axis = np.linspace(-span, span, n)
        gx, gy = np.meshgrid(axis, axis)
        fig.add_trace(go.Scatter(x=gx.ravel(), y=gy.ravel(), mode="markers", name="click",
                                 showlegend=False, customdata=np.stack([gx.ravel(), gy.ravel()], 1),
                                 marker=dict(size=9, color="rgba(0,0,0,0.02)"),
                                 hovertemplate="decode z=(%{x:.2f}, %{y:.2f})<extra></extra>"))
        # whole-number ticks short of the ends: labels at the ends would meet in the
        # bottom-left corner once the projector view enlarges them
        inner = [float(v) for v in np.arange(-np.floor(span), np.floor(span) + 1)
                 if abs(v) <= span - 0.5]
        fig.update_xaxes(tickvals=inner)
        fig.update_yaxes(tickvals=inner)
    else:  # a square window around the origin: two such plots side by side are the same
        # size whatever their spreads (which the tick labels then show)
        span = 1.05 * float(np.max(np.abs(points))) if points.size else 1.0
    fig.update_xaxes(range=[-span, span])
    fig.update_yaxes(range=[-span, span])
    if marked is not None:
        fig.add_trace(go.Scatter(x=[marked[0]], y=[marked[1]], mode="markers", name="decoded",
                                 marker=dict(size=16, symbol="x", color="black"),
                                 showlegend=False, hoverinfo="skip"))
    # constrain="domain": equal scales shrink the plot area instead of widening the ranges,
    # so every pixel of the plane lies on the clickable grid (no dead margins to click).
    # constraintoward="right": in a wide column the square stands beside its legend, not
    # 150 px from it
    # outside ticks as long as the plane's edge markers are wide, drawn invisibly: the y
    # tick labels keep clear of points at the left edge (they sat on them)
    gap = dict(ticks="outside", ticklen=6, tickcolor="rgba(0,0,0,0)")
    fig.update_xaxes(title_text=axis_titles[0], zeroline=True, gridcolor="#eef2f7",
                     constrain="domain", constraintoward="right")
    fig.update_yaxes(title_text=axis_titles[1], zeroline=True, gridcolor="#eef2f7",
                     scaleanchor="x", scaleratio=1, constrain="domain", **gap)
    fig.update_layout(legend=dict(title="digit", itemsizing="constant"), dragmode=False,
                      clickmode="event+select")
    return _base_layout(fig, height=420, title=title)


def make_manifold_figure(images: np.ndarray, axis: np.ndarray, points: np.ndarray,
                         labels: np.ndarray, click_grid: tuple[float, int] | None = None,
                         marked: np.ndarray | None = None, pad: int = 1) -> go.Figure:
    """A 2-D VAE's decoded grid (left) beside its encodings (right), in one figure so that
    the two squares are the same size and level at any width (Kingma & Welling 2014,
    fig. 4). images (n*n, H, W) in [0, 1], decoded from latent.manifold_codes(n): row-major,
    top row = largest z1; axis (n,) the z values of the grid's columns (and, reversed, its
    rows), named on its ticks. The encodings are make_latent_scatter_figure's (points,
    labels, click_grid, marked) on the first axes, so clicks and tests read them as before;
    the grid is an Image on the second axes, under an invisible marker per cell whose
    customdata is its (z0, z1), so a click on a cell reads as a click on that code. Raises
    ValueError when images is not n*n for n = len(axis)."""
    n = len(axis)
    images = np.asarray(images, dtype=np.float32)
    if images.shape[0] != n * n:
        raise ValueError(f"{images.shape[0]} images for a {n} x {n} grid")
    height, width = images.shape[-2:]
    tiled = np.clip(imaging.grid(images, n, pad=pad), 0.0, 1.0)
    source = "data:image/png;base64," + base64.b64encode(imaging.png_bytes(tiled, scale=1)).decode()
    fig = make_latent_scatter_figure(points, labels, click_grid=click_grid, marked=marked)
    fig.add_trace(go.Image(source=source, xaxis="x2", yaxis="y2", hoverinfo="skip"))
    centre = lambda i, size: i * (size + pad) + (size - 1) / 2  # noqa: E731
    # a click on a cell decodes its code, as a click on the plane does: an invisible
    # marker over every cell carries (z0, z1) as the plane's clickable grid does
    columns, rows = np.meshgrid(np.arange(n), np.arange(n))  # row-major, as the images
    codes = np.stack([axis[columns.ravel()], axis[::-1][rows.ravel()]], 1)
    fig.add_trace(go.Scatter(
        x=centre(columns.ravel(), width), y=centre(rows.ravel(), height), xaxis="x2",
        yaxis="y2", mode="markers", customdata=codes, showlegend=False,
        marker=dict(symbol="square", size=max(6, 280 // n), color="rgba(0,0,0,0.01)"),
        hovertemplate="click to decode z = (%{customdata[0]:.2f}, %{customdata[1]:.2f})"
                      "<extra></extra>"))
    # about five named ticks per axis, symmetric about the middle cell
    every = max(1, round(n / 5))
    middle = (n - 1) // 2
    chosen = sorted({c for c in range(n) if (c - middle) % every == 0})
    common = dict(showgrid=False, zeroline=False, constrain="domain", ticks="outside")
    fig.update_layout(
        xaxis=dict(domain=[0.56, 1.0]),
        # the image's own extent as the ranges: the cells' click markers widened autorange
        xaxis2=dict(domain=[0.0, 0.44], anchor="y2", title=dict(text="z0"),
                    constraintoward="right",  # as the plane beside it
                    range=[-0.5, tiled.shape[1] - 0.5],
                    tickvals=[centre(c, width) for c in chosen],
                    ticktext=[signed(float(axis[c]), 1) for c in chosen], **common),
        yaxis2=dict(anchor="x2", scaleanchor="x2", range=[tiled.shape[0] - 0.5, -0.5],
                    title=dict(text="z1"), tickvals=[centre(r, height) for r in chosen],
                    ticktext=[signed(float(axis[::-1][r]), 1) for r in chosen], **common))
    return fig


def _kl_bar_label(nats: float) -> str:
    """An active dimension's KL as its bar's label: two decimals, or two significant digits
    under 0.1 (an active 0.012 read "0.01", as if it were at the 0.01 threshold, beside a
    caption counting it above)."""
    return f"{nats:.2f}" if nats >= 0.1 else f"{nats:.2g}"


def make_kl_bars_figure(mean_kl: np.ndarray, active: np.ndarray, order: np.ndarray) -> go.Figure:
    """Average KL per latent dimension, sorted, inactive ones (under 0.01 nats, the lab's
    threshold) greyed, each labelled with its value; every grey one reads "<0.01" (one
    reading "0.00" and its neighbour "<0.01" looked like two kinds)."""
    many = len(order) > 10
    names = [str(int(d)) for d in order]  # bare numbers stand upright under 16 bars at 1280
    data = [dict(type="bar", x=names, y=mean_kl[order],
                 marker=dict(color=["#2563eb" if active[d] else "#94a3b8" for d in order]),
                 # every bar carries its value, so a collapsed (near-zero) one is still seen;
                 # plotly shrinks outside labels to the bar's width (8 px for 16 bars at
                 # 1280), so they keep their size and stand upright when there are many
                 # a grey (inactive) bar never reads like the threshold it is under
                 text=[_kl_bar_label(mean_kl[d]) if active[d] else "<0.01" for d in order],
                 textposition="outside",
                 textfont=dict(size=12), cliponaxis=False, constraintext="none",
                 textangle=-90 if many else 0,
                 hovertemplate="z%{x}: %{y:.2f} nats<extra></extra>", showlegend=False),
            # a grey stub on the axis under each collapsed dimension, whose bar has no height
            dict(type="scatter", x=[n for n, d in zip(names, order) if not active[d]],
                 y=[0.0] * int(np.count_nonzero(~np.asarray(active, bool))), mode="markers",
                 marker=dict(symbol="line-ew", size=18, color="#94a3b8",
                             line=dict(width=4, color="#94a3b8")),
                 hoverinfo="skip", showlegend=False, cliponaxis=False)]
    # a key to the two colours at the figure's foot, where the rate-distortion plane beside
    # it has its legend: one frame (height, margins, legend band), so the two stand level
    data += [dict(type="scatter", x=[None], y=[None], mode="markers", name=name,
                  marker=dict(symbol="square", size=12, color=colour), hoverinfo="skip")
             for name, colour in (("active", "#2563eb"),
                                  (f"collapsed to the prior (< {ACTIVE_KL_LABEL} nats)",
                                   "#94a3b8"))]
    top = float(np.max(mean_kl)) if len(mean_kl) else 1.0
    layout = _layout(
        380, showlegend=True, legend=dict(orientation="h", x=0, y=0, yref="container",
                                          yanchor="bottom"),
        # the dimensions' bare numbers, upright ("z12" turned 90 degrees at 16 bars: side
        # by side they ran together in a half-width chart at 1280); category: in KL order
        xaxis=dict(title=dict(text="dimension k of z (most informative first)", standoff=12),
                   tickangle=0, type="category", categoryorder="array",
                   categoryarray=names),
        yaxis=dict(title=dict(text="mean KL, nats"),
                   range=[0, max(top, 0.05) * (1.45 if many else 1.3)],
                   rangemode="tozero"))
    layout["margin"]["b"] = PLANE_FOOT_PX
    return _fast_figure(data, layout)


def _arrow_dx(x: float, low: float, high: float, edge: float = 0.15) -> int:
    """An annotation arrow's horizontal offset in px: pointing in from the side when x is
    near an end of the axis, so the label stays clear of the axis line and its ticks."""
    share = (x - low) / max(high - low, 1e-9)
    return 45 if share < edge else -45 if share > 1 - edge else 0


def _superscript(k: int) -> str:
    """An integer as superscript characters: −6 -> '⁻⁶' (for tick labels such as 10⁻⁶)."""
    return str(k).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


LOG_HEADROOM = 0.9  # decades above p = 1 on the log scale (at least): room for the label
LOG_SCALE_HEIGHT = 340  # px of the 256-way chart on a log axis
TAKEN_LABEL_ROOM = 0.3  # share of the 256-way chart's height above the taken bar: its label


def make_distribution_figure(probabilities: np.ndarray, taken: int | None,
                             model_probabilities: np.ndarray | None = None,
                             title: str | None = None, log_scale: bool = False) -> go.Figure:
    """The 256-way distribution of one pixel as bars; the taken grey level marked. Every
    level has a full-height, invisible bar behind it whose customdata is the level, so a
    click anywhere in a column forces that value even where the visible bar is 1 px tall.
    log_scale shows probabilities on a log axis from 1e-6, or lower (down to 1e-30) when
    the smallest non-zero one is lower (a background pixel's other levels often are), to 1
    with room above for the "taken" label.

    Built in one constructor without plotly's per-property validation (it costs ~20 ms and
    this figure is redrawn at every sampling step)."""
    levels = np.arange(256)
    colours = np.where(levels == (taken if taken is not None else -1), "#f97316", "#2563eb")
    positive = np.asarray(probabilities, dtype=np.float64)
    positive = positive[positive > 0]
    # the lowest decade shown: every non-zero level gets a visible (clickable) bar
    floor = min(-6, int(np.floor(np.log10(max(positive.min(), 1e-30)))) if positive.size
                else -6)
    # room above the taken level's bar for its arrow and label (TAKEN_LABEL_ROOM of the
    # plot's height: at 1280 the label's top was cut by the chart's edge)
    marked = float(probabilities[taken]) if taken is not None else 0.0
    log_marked = np.log10(max(marked, 10.0 ** floor))
    headroom = max(LOG_HEADROOM, 0.15 * -floor,  # ~15% of the plot above p = 1
                   (log_marked - TAKEN_LABEL_ROOM * floor) / (1 - TAKEN_LABEL_ROOM)
                   if taken is not None else 0.0)
    top = 10 ** headroom if log_scale else max(float(np.max(probabilities)) * 1.08,
                                               marked / (1 - TAKEN_LABEL_ROOM), 1e-6)
    data = [dict(type="bar", x=levels, y=np.full(256, top), customdata=levels,
                 name="click a level", showlegend=False, hoverinfo="none",  # "skip" would
                 # also drop its clicks
                 marker=dict(color="rgba(0,0,0,0)", line=dict(width=0))),
            dict(type="bar", x=levels, y=probabilities, customdata=levels,
                 name="sampled from", marker=dict(color=colours, line=dict(width=0)),
                 hovertemplate="grey level %{x}: p = %{y:.4g}<extra></extra>")]
    tempered = model_probabilities is not None and not np.allclose(model_probabilities,
                                                                   probabilities)
    if tempered:
        data.append(dict(type="scatter", x=levels, y=model_probabilities, mode="lines",
                         name="the model's own p", line=dict(color="#64748b", width=1)))
    annotations = [] if taken is None else [dict(
        x=taken, y=float(np.log10(max(probabilities[taken], 10.0 ** floor))) if log_scale
        else float(probabilities[taken]), text=f"taken: {taken}", showarrow=True,
        arrowhead=2, ay=-30, ax=_arrow_dx(taken, 0, 255),
        bgcolor="rgba(255, 255, 255, 0.85)")]  # readable where it lies over other bars
    yaxis = dict(title=dict(text="probability" + (" (log scale)" if log_scale else "")),
                 fixedrange=True)
    yaxis.update(dict(type="log", range=[floor, headroom], exponentformat="power")
                 if log_scale
                 else dict(range=[0, top]))
    # room above p = 1 for the label, but no tick there ("1.2", or 10³ on the log scale):
    # a probability is at most 1
    if log_scale:
        every = max(1, math.ceil(-floor / 6))  # at most about 7 decades named
        decades = list(range(0, floor - 1, -every))[::-1]
        yaxis.update(tickvals=[10.0 ** k for k in decades],
                     ticktext=["1" if k == 0 else f"10{_superscript(k)}" for k in decades])
    elif top > 1:
        yaxis.update(tickvals=[0, 0.25, 0.5, 0.75, 1])
    # 270 px: the sampler's buttons, image and bars fit one screen; a log axis holds from 7
    # to 30 decades and gets 340 (ten decades had 140 px at 1280)
    layout = _layout(
        LOG_SCALE_HEIGHT if log_scale else 270, title, bargap=0, barmode="overlay",
        showlegend=tempered, dragmode="zoom",
        clickmode="event+select", legend=dict(orientation="h", y=1.1), annotations=annotations,
        xaxis=dict(title=dict(text="grey level (0 = black, 255 = white); drag to zoom"),
                   range=[-2, 257]), yaxis=yaxis)
    return _fast_figure(data, layout)


def make_heatmap_figure(values: np.ndarray, colorbar_title: str, title: str | None = None,
                        colorscale: str = "Inferno", zmax: float | None = None,
                        mark: tuple[int, int] | None = None, height: int = 300) -> go.Figure:
    """An (H, W) map drawn as an image, row 0 at the top, with row and column axes (ticks
    every 7 pixels); optionally one cell outlined in cyan (say what it is in a caption)."""
    rows, columns = np.shape(values)[:2]
    fig = go.Figure(go.Heatmap(z=values, colorscale=colorscale, zmin=0, zmax=zmax,
                               colorbar=dict(title=colorbar_title, thickness=12),
                               hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>"))
    if mark is not None:
        r, c = mark
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                      line=dict(color="#22d3ee", width=3))
    step = 7 if max(rows, columns) > 10 else 1
    common = dict(ticks="outside", showline=False, zeroline=False, showgrid=False)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", title="row",
                     tickvals=list(range(0, rows, step)), **common)
    fig.update_xaxes(constrain="domain", constraintoward="right", title="column",  # beside
                     tickvals=list(range(0, columns, step)), **common)  # its colour bar
    return _base_layout(fig, height=height, title=title)


def make_labelled_grid_figure(images: np.ndarray, row_labels: Sequence[str],
                              column_labels: Sequence[str], x_title: str, y_title: str,
                              pad: int = 1) -> go.Figure:
    """Images (rows * columns, H, W) in [0, 1] as one grid, each row and column named on
    its axis (a traversal: rows are latent dimensions, columns the values swept). Drawn as
    a plotly Image, so the names sit beside their cells at any size; no hover."""
    rows, columns = len(row_labels), len(column_labels)
    images = np.asarray(images, dtype=np.float32)
    if images.shape[0] != rows * columns:
        raise ValueError(f"{images.shape[0]} images for a {rows} x {columns} grid")
    height, width = images.shape[-2:]
    tiled = np.clip(imaging.grid(images, columns, pad=pad), 0.0, 1.0)
    rgb = np.repeat((tiled * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    centre = lambda i, size: i * (size + pad) + (size - 1) / 2  # noqa: E731
    fig = go.Figure(go.Image(z=rgb, hoverinfo="skip"))
    fig.update_xaxes(tickvals=[centre(c, width) for c in range(columns)],
                     ticktext=list(column_labels), title=x_title, showgrid=False,
                     zeroline=False)
    fig.update_yaxes(tickvals=[centre(r, height) for r in range(rows)],
                     ticktext=list(row_labels), title=y_title, showgrid=False, zeroline=False)
    return _base_layout(fig, height=int(90 + rows * 72))


def make_rate_distortion_figure(trail: Sequence[tuple[float, float]],
                                points: Sequence = (), markers: Sequence[tuple[float, float, str]] = (),
                                live: bool = True) -> go.Figure:
    """Rate (KL) vs distortion (-log p(x|z)) after Alemi et al. 2018: the current run's
    trail with its latest point ("now", only while the run is `live`), finished runs'
    points, and lines of equal ELBO (D + R = c), each labelled where its line lies farthest
    from every point and label (see contour_label_positions). Markers are knob changes
    (R, D, label[, labelled[, hover text]]); points are run_store.RatePoint."""
    finite = lambda x, y: np.isfinite(x) and np.isfinite(y)  # noqa: E731  a diverged run
    trail = [p for p in trail if finite(*p)]
    points = _plane_points(points)
    markers = [m for m in markers if finite(m[0], m[1])]
    xs = [p[0] for p in trail] + [p.rate for p in points]
    ys = [p[1] for p in trail] + [p.distortion for p in points]
    # a label near the right edge goes to its point's left, so it is not cut
    label_left = lambda rate: bool(xs) and rate > 0.7 * max(xs) * 1.15  # noqa: E731
    data, notes = [], []
    labelled: dict[int, str] = {}
    finished_labels = [f"{i + 1}: {label}" for i, label in enumerate(
        _finished_label(p) for p in points)]  # numbered as in finished_points_key
    label_places: list[str | None] = [None] * len(points)
    xaxis = dict(title=dict(text="rate R, nats"))  # short titles: a rotated one longer than
    yaxis = dict(title=dict(text="distortion D, nats"))  # the plot is cut at both ends
    if xs:
        window = _PlaneWindow(*_rate_distortion_window(xs, ys))
        levels = _equal_elbo_levels([x + y for x, y in zip(xs, ys)], window)
        labelled, places, label_places, finished_labels, leaders = _place_plane_labels(
            trail, points, markers, finished_labels, levels, window, label_left)
        for i, (x, y) in leaders.items():  # a number off its point, joined by a leader
            notes.append(dict(x=points[i].rate, y=points[i].distortion, ax=x, ay=y,
                              axref="x", ayref="y", text=finished_labels[i], showarrow=True,
                              arrowhead=0, arrowwidth=1, arrowcolor="#16a34a", standoff=6,
                              bgcolor="white", font=dict(size=12, color="#166534")))
        for level, x in zip(levels, places):
            data.append(dict(type="scatter", x=[0, window.span_x],
                             y=[level, level - window.span_x], mode="lines",
                             line=dict(color="#e2e8f0", dash="dot"), hoverinfo="skip",
                             showlegend=False))
            notes.append(dict(x=x, y=level - x, text=f"ELBO = {signed(-level, 0)}",
                              showarrow=False, xanchor="center", yanchor="middle",
                              bgcolor="white",  # on its line, which runs in and out
                              font=dict(size=12, color="#64748b")))
        xaxis["range"], yaxis["range"] = [0, window.span_x], window.y_range
    if trail:
        data.append(dict(type="scatter", x=[p[0] for p in trail], y=[p[1] for p in trail],
                         mode="lines", name="this run" if live else "this run (ended)",
                         line=dict(color="#93c5fd")))
        if live:  # an ended run has no "now": its end is a finished run's point
            data.append(dict(type="scatter", x=[trail[-1][0]], y=[trail[-1][1]],
                             mode="markers", name="now", marker=dict(size=14, color="#2563eb")))
    for index, (rate, distortion, text, *rest) in enumerate(markers):
        data.append(dict(type="scatter", x=[rate], y=[distortion], mode="markers+text",
                         text=[text if index in labelled else ""],
                         showlegend=index == 0, name="knob changes",  # one key for all
                         legendgroup="knob changes",  # every change, labelled or not, and
                         # all that share its point
                         hovertext=[rest[1] if len(rest) > 1 else text], hoverinfo="text",
                         textposition=labelled.get(index, "top right"),
                         marker=dict(size=8, color="#f97316", symbol="diamond")))
    if points:
        data.append(dict(type="scatter", x=[p.rate for p in points],
                         y=[p.distortion for p in points], mode="markers+text",
                         # labels where they fit clear of the rest; every point names
                         # itself on hover
                         text=[t if place else "" for t, place
                               in zip(finished_labels, label_places)],
                         hovertext=finished_points_names(points), hoverinfo="text",
                         textposition=[place or "bottom right" for place in label_places],
                         name="finished runs",
                         marker=dict(size=10, color="#16a34a")))
    # the legend at the figure's foot, as the curves': beside make_kl_bars_figure's bars
    # (same height and margins) the two plots start and end level
    layout = _layout(380, annotations=notes, xaxis=xaxis, yaxis=yaxis,
                     legend=dict(orientation="h", x=0, y=0, yref="container",
                                 yanchor="bottom"))
    layout["margin"]["b"] = PLANE_FOOT_PX
    return _fast_figure(data, layout)


@dataclass(frozen=True)
class _PlaneWindow:
    """The rate-distortion plane's window: rate from 0 to span_x, distortion over y_range
    (nats); share() maps a point to shares of the plot (0..1 inside)."""

    span_x: float
    y_range: list[float]

    @property
    def height(self) -> float:
        return max(self.y_range[1] - self.y_range[0], 1e-9)

    def share(self, x: float, y: float) -> tuple[float, float]:
        return x / self.span_x, (y - self.y_range[0]) / self.height

    def corners(self, boxes) -> list[tuple[float, float]]:
        """Six points along each box's edges (boxes in shares), back in nats: obstacles."""
        return [(u * self.span_x, self.y_range[0] + v * self.height)
                for u0, v0, u1, v1 in boxes
                for u in (u0, (u0 + u1) / 2, u1) for v in (v0, v1)]


def _rate_distortion_window(xs: Sequence[float], ys: Sequence[float]
                            ) -> tuple[float, list[float]]:
    """(span_x, y_range) holding every (rate, distortion): 15% past the largest rate (at
    least 5 nats), distortion padded by 10% at both ends. A Gaussian decoder's distortion
    can be negative (a density can exceed 1): the window starts at 0 only when every point
    is above it; and it is at least half as tall as wide, or lines of slope −1 look
    vertical. A lone point (a sweep's first run) is shown from D = 0, as the plane is drawn
    in the paper, not in a window of a few nats around it that made its D look precise."""
    span_x = max(max(xs) * 1.15, 5.0)
    low, high = min(ys), max(ys)
    if len(set(zip(xs, ys))) == 1 and low > 0:
        return span_x, [0.0, max(high * 1.15, 0.5 * span_x)]
    pad = 0.1 * max(high - low, 0.1 * max(abs(low), abs(high)), 1.0)
    y_range = [max(0.0, low - pad) if low >= 0 else low - pad, high + pad]
    if y_range[1] - y_range[0] < 0.5 * span_x:  # one point, or a few close in D
        bottom = (low + high) / 2 - 0.25 * span_x
        bottom = max(0.0, bottom) if low >= 0 else bottom
        y_range = [bottom, bottom + 0.5 * span_x]
    return span_x, y_range


def _equal_elbo_levels(totals: Sequence[float], window: _PlaneWindow) -> list[float]:
    """At most 5 values of D + R for the dotted lines, at least 15% of the plot's height
    apart, so their labels never stack (a sweep's points often lie within a few nats)."""
    count = int(min(5, 1 + (max(totals) - min(totals)) // (0.15 * window.height)))
    return list(np.linspace(min(totals), max(totals), count)) if count > 1 \
        else [min(totals)]


def _place_plane_labels(trail, points, markers, finished_labels: list[str],
                        levels: list[float], window: _PlaneWindow, label_left
                        ) -> tuple[dict[int, str], list[float], list[str | None], list[str],
                                   dict[int, tuple[float, float]]]:
    """Where the plane's three kinds of label go: (the knob changes labelled, each with its
    textposition, the side of its diamond that the run's trail leaves most clear; the x of each
    equal-ELBO line's label, each finished run's textposition or None for hover only, and
    each finished run's text: its numbered label "2: β=1 sweep", or its number "2" alone
    where only that fits; finished_points_key names them all under the plane).
    Knob changes first: those the curves label (a 4th element, labelled_changes) unless two
    lie on top of each other here (then the newer one). Then the lines' labels, clear of
    every point, knob label and the place a finished run's label would take first. Then the
    finished runs' labels where they fit clear of all those; the rest by number at a
    distance, with a leader line (the last item: point index -> (R, D) of its number)."""
    path = _trail_path(trail, window)  # the trail as drawn, every 0.02 of the plot
    obstacles = path + [m[:2] for m in markers]  # and the knob changes
    drawn = [window.share(*o) for o in path]  # a line: labels keep off it
    diamonds = [window.share(*m[:2]) for m in markers]  # points: labels keep away
    named = [i for i, m in enumerate(markers) if len(m) < 4 or m[3]]
    chosen = [named[j] for j in spaced_labels([markers[i][:2] for i in named],
                                              [window.span_x, window.height], gap=0.04)]
    finished = [window.share(p.rate, p.distortion) for p in points]
    labelled = {i: _clearest_place(window.share(*markers[i][:2]), markers[i][2], drawn,
                                   label_left(markers[i][0]),
                                   others=finished + diamonds[:i] + diamonds[i + 1:])
                for i in chosen}
    marker_boxes = [point_label_box(*window.share(*markers[i][:2]), markers[i][2], place)
                    for i, place in labelled.items()]
    preferred = [_first_inside(window.share(p.rate, p.distortion), text, label_left(p.rate))
                 for p, text in zip(points, finished_labels)]
    obstacles += [(p.rate, p.distortion) for p in points] + window.corners(marker_boxes)
    places = contour_label_positions(list(levels), obstacles, (window.span_x, window.y_range),
                                     soft=window.corners(preferred))
    line_boxes = []
    for level, x in zip(levels, places):
        line_boxes.append(contour_label_box(*window.share(x, level - x)))
    anchors = [window.share(p.rate, p.distortion) for p in points]
    label_places = place_point_labels(anchors, finished_labels, drawn,
                                      boxes=marker_boxes + line_boxes, others=diamonds)
    if None in label_places:  # the unplaced ones by number, clear of the labels placed
        placed = [point_label_box(*a, text, place) for a, text, place
                  in zip(anchors, finished_labels, label_places) if place]
        numbers = [str(i + 1) for i in range(len(points))]  # as finished_labels number them
        missing = [i for i, place in enumerate(label_places) if place is None]
        retry = place_point_labels([anchors[i] for i in missing], [numbers[i] for i in missing],
                                   drawn, boxes=marker_boxes + line_boxes + placed,
                                   point_margin=0.03,  # a number is small: it fits closer
                                   others=diamonds + [a for i, a in enumerate(anchors)
                                                      if i not in missing])
        for i, place in zip(missing, retry):
            label_places[i], finished_labels[i] = place, numbers[i]
        # a number that found no clear place still goes beside its point over the trail if
        # it must (other labels, and other points nearer than 0.03 of the plot, keep it off):
        # the key names it by number, and a point without one cannot be found from the key;
        # where it would be as near another point, it stays off (hover names it)
        still = [i for i in missing if label_places[i] is None]
        placed += [point_label_box(*anchors[i], numbers[i], label_places[i])
                   for i in missing if label_places[i]]
        last = place_point_labels([anchors[i] for i in still], [numbers[i] for i in still],
                                  (), boxes=marker_boxes + line_boxes + placed,
                                  point_margin=0.03,
                                  others=diamonds + [a for i, a in enumerate(anchors)
                                                     if i not in still])
        for i, place in zip(still, last):
            label_places[i] = place
        # the rest: their number stands off, joined to its point by a leader
        unplaced = [i for i in still if label_places[i] is None]
        placed += [point_label_box(*anchors[i], numbers[i], label_places[i])
                   for i in still if label_places[i]]
        leaders = {i: (u * window.span_x, window.y_range[0] + v * window.height)
                   for i, (u, v) in leader_label_spots(
                       anchors, numbers, unplaced, drawn,
                       boxes=marker_boxes + line_boxes + placed, others=diamonds).items()}
    else:
        leaders = {}
    return labelled, places, label_places, finished_labels, leaders


def _trail_path(trail: Sequence[Sequence[float]], window: "_PlaneWindow",
                step: float = 0.02) -> list[tuple[float, float]]:
    """The run's trail (R, D) as obstacles for labels: at most 60 of its points, with points
    added between them every `step` of the plot (a label between two sampled points sat on
    the line joining them). Returned in nats."""
    kept = list(trail[::max(1, len(trail) // 60)]) + list(trail[-1:])
    path: list[tuple[float, float]] = []
    for a, b in zip(kept, kept[1:] or kept):
        (ua, va), (ub, vb) = window.share(*a), window.share(*b)
        count = max(1, math.ceil(max(abs(ub - ua), abs(vb - va)) / step))
        path += [(a[0] + (b[0] - a[0]) * t / count, a[1] + (b[1] - a[1]) * t / count)
                 for t in range(count)]
    return path + list(trail[-1:])


def _clearest_place(anchor: Sequence[float], text: str, obstacles: Sequence[Sequence[float]],
                    left_first: bool, others: Sequence[Sequence[float]] = ()) -> str:
    """The textposition for a knob change's label (beside its diamond on the trail) whose
    box lies inside the plot, is nearer its own diamond than any of `others` (finished
    runs' points and other diamonds: a label nearer one of them reads as its name), and
    covers the fewest obstacles (the trail); all in shares of the plot. Ties go to above,
    then to the right (the left near the right edge)."""
    order = sorted(POINT_LABEL_PLACES, key=lambda place: (not place.startswith("top"),
                                                          place.endswith("right") == left_first))

    def covered(place: str) -> tuple[bool, bool, int]:
        u0, v0, u1, v1 = point_label_box(*anchor, text, place)
        hits = sum(u0 - 0.01 <= u <= u1 + 0.01 and v0 - 0.01 <= v <= v1 + 0.01
                   for u, v in obstacles)
        centre = ((u0 + u1) / 2, (v0 + v1) / 2)
        own = math.dist(centre, anchor)
        misleading = any(math.dist(centre, other) < own for other in others)
        return (not _inside_plot((u0, v0, u1, v1)), misleading, hits)

    return min(order, key=covered)  # min keeps the first of equals: the preferred order


# sizes as shares of the plot, for its narrowest use: the live run's plane in a laptop's
# half column, about 300 px wide at 12 px text (a projector's half column: ~700 px at 24 px);
# sized for a full-width plot (~550 px) they ran past the plot's left edge there, over the
# ticks, and under the equal-ELBO labels
CONTOUR_LABEL_BOX = (0.30, 0.09)  # an "ELBO = −123" label's size
POINT_LABEL_BOX = (0.2, 0.08)  # a finished run's label ("β=0.25 sweep"), likewise
LABEL_CHAR_SHARE = 0.023  # one character of a point's label, as a share of the plot's width
POINT_LABEL_PLACES = ("bottom right", "bottom left", "top right", "top left")


def point_label_box(u: float, v: float, text: str, place: str
                    ) -> tuple[float, float, float, float]:
    """The box (u0, v0, u1, v1), in shares of the plot, that a point's label at plotly's
    textposition `place` takes beside a point at (u, v)."""
    width, height = 0.02 + LABEL_CHAR_SHARE * len(text), POINT_LABEL_BOX[1]
    u0 = u + 0.01 if place.endswith("right") else u - 0.01 - width
    v0 = v - 0.02 - height if place.startswith("bottom") else v + 0.02
    return (u0, v0, u0 + width, v0 + height)


def _first_inside(anchor: Sequence[float], text: str, left_first: bool
                  ) -> tuple[float, float, float, float]:
    """The box of the first place for a point's label that lies inside the plot (below
    and to the right, or to the left first near the right edge; above when below is cut)."""
    order = sorted(POINT_LABEL_PLACES, key=lambda place: (place.startswith("top"),
                                                          place.endswith("right") == left_first))
    boxes = [point_label_box(*anchor, text, place) for place in order]
    return next((b for b in boxes if _inside_plot(b)), boxes[0])


def _inside_plot(box: Sequence[float]) -> bool:
    """Whether a box (u0, v0, u1, v1), in shares of the plot, lies inside it."""
    return box[0] >= 0 and box[2] <= 1 and box[1] >= 0 and box[3] <= 1


def _label_box_clear(box: Sequence[float], near: Sequence[Sequence[float]],
                     lines: Sequence[Sequence[float]], boxes: Sequence[Sequence[float]],
                     margin: float, point_margin: float) -> bool:
    """Whether a label's box (u0, v0, u1, v1), in shares of the plot, keeps `point_margin`
    from every point in `near` (a label next to another point reads as that point's) and
    `margin` from every point along `lines` and from every other label's box."""
    wide = (box[0] - point_margin, box[1] - point_margin, box[2] + point_margin,
            box[3] + point_margin)
    grown = (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)
    return not (any(wide[0] <= a <= wide[2] and wide[1] <= b <= wide[3] for a, b in near)
                or any(grown[0] <= a <= grown[2] and grown[1] <= b <= grown[3]
                       for a, b in lines)
                or any(not (grown[2] <= o[0] or o[2] <= grown[0] or grown[3] <= o[1]
                            or o[3] <= grown[1]) for o in boxes))


def place_point_labels(anchors: Sequence[Sequence[float]], texts: Sequence[str],
                       obstacles: Sequence[Sequence[float]] = (),
                       boxes: Sequence[Sequence[float]] = (), margin: float = 0.015,
                       point_margin: float = 0.05,
                       others: Sequence[Sequence[float]] = ()) -> list[str | None]:
    """Where each point's label goes (a textposition of POINT_LABEL_PLACES), newest point
    first: the first place whose box (point_label_box) lies inside the plot, clear by
    `point_margin` of every other anchor and of `others` (points of other kinds; in shares
    of the plot: a label next to another point reads as that point's), clear by `margin` of
    every obstacle (points along lines) and of every box in
    `boxes` (u0, v0, u1, v1: other labels) and of every label placed before; None when no
    place is clear (the point names itself on hover
    only). A sweep's points often lie close, and four labels would otherwise pile up."""
    boxes = [tuple(b) for b in boxes]
    places: list[str | None] = [None] * len(anchors)
    for index in range(len(anchors) - 1, -1, -1):
        u, v = anchors[index]
        for place in POINT_LABEL_PLACES:
            box = point_label_box(u, v, texts[index], place)
            if not _inside_plot(box):
                continue
            near = [a for i, a in enumerate(anchors) if i != index] + list(others)
            lines = [o for o in obstacles  # not one under the point itself (a run's trail
                     if abs(o[0] - u) + abs(o[1] - v) > 0.02]  # ends at its own point)
            if not _label_box_clear(box, near, lines, boxes, margin, point_margin):
                continue
            places[index] = place
            boxes.append(box)
            break
    return places


LEADER_RADII = (0.09, 0.13, 0.18, 0.24)  # how far a leader's label may stand, in shares


def leader_label_spots(anchors: Sequence[Sequence[float]], texts: Sequence[str],
                       which: Sequence[int], lines: Sequence[Sequence[float]] = (),
                       boxes: Sequence[Sequence[float]] = (),
                       others: Sequence[Sequence[float]] = (), margin: float = 0.015,
                       point_margin: float = 0.03) -> dict[int, tuple[float, float]]:
    """For the points `which` (indices into anchors) that found no place beside themselves:
    the centre (u, v), in shares of the plot, of a label standing off at LEADER_RADII in
    twelve directions, to be joined to its point by a thin leader line. The first spot whose
    box (as point_label_box's, centred) lies inside the plot, clear by `point_margin` of
    every other anchor and of `others`, by `margin` of the `lines` and of the `boxes` (and
    of the leaders placed before) wins; a point with no clear spot is left out (it names
    itself on hover). In a crowded plane a point's number beside it sat nearer another
    point; a leader says whose it is."""
    boxes = [tuple(b) for b in boxes]
    spots: dict[int, tuple[float, float]] = {}
    for index in which:
        u, v = anchors[index]
        width, height = 0.02 + LABEL_CHAR_SHARE * len(texts[index]), POINT_LABEL_BOX[1]
        near = [a for i, a in enumerate(anchors) if i != index] + list(others)
        for radius in LEADER_RADII:
            for degrees in range(30, 390, 30):  # up and to the right first
                cu = u + radius * math.cos(math.radians(degrees))
                cv = v + radius * math.sin(math.radians(degrees))
                box = (cu - width / 2, cv - height / 2, cu + width / 2, cv + height / 2)
                if not _inside_plot(box):
                    continue
                if not _label_box_clear(box, near, lines, boxes, margin, point_margin):
                    continue
                spots[index] = (cu, cv)
                boxes.append(box)
                break
            if index in spots:
                break
    return spots


def contour_label_box(u: float, v: float) -> tuple[float, float, float, float]:
    """The box (u0, v0, u1, v1), in shares of the plot, of an equal-ELBO label centred on
    its line at (u, v) (CONTOUR_LABEL_BOX wide and tall): the line runs into the label and
    out of it, so the label names that line and not the next (above the line, it sat
    between two)."""
    width, height = CONTOUR_LABEL_BOX
    return (u - width / 2, v - height / 2, u + width / 2, v + height / 2)


def contour_label_positions(levels: Sequence[float], obstacles: Sequence[Sequence[float]],
                            window: tuple[float, Sequence[float]], candidates: int = 12,
                            soft: Sequence[Sequence[float]] = ()) -> list[float]:
    """Where each line of equal ELBO, D = level − R, gets its label: the x (nats of rate)
    of the label's centre on the line, chosen among 4 x `candidates` places along the
    line's visible part as the one whose box (contour_label_box) lies inside the plot and
    farthest from every obstacle (points, with room for their own labels) and from
    the labels placed before it. `window` is (rate span, [D low, D high]). Distances are
    in shares of the plot, so a label keeps clear at any size (a projector's large text
    included, where the box is larger still). `soft` obstacles (where other labels would
    rather go) are kept clear of too, but a place clear of every hard obstacle wins over
    one clear of both kinds only by leaving a soft one covered."""
    span_x, (low, high) = window
    height = max(high - low, 1e-9)
    width_share, height_share = CONTOUR_LABEL_BOX
    scaled = lambda points: [((x / span_x), (y - low) / height) for x, y in points  # noqa: E731
                             if np.isfinite(x) and np.isfinite(y)]
    taken, wished = scaled(obstacles), scaled(soft)

    def room(u: float, v: float, others: list) -> float:
        return min((max(u - a, 0.0, a - u - width_share) ** 2
                    + max(v - b, 0.0, b - v - height_share) ** 2) ** 0.5
                   for a, b in others) if others else 1.0

    places = []
    for level in levels:
        # the visible part, from the top edge (or the D axis) to the bottom or right edge;
        # the label centred on the line, its box inside the plot and clear of the D
        # axis's ticks
        start, end = max(level - high, 0.0), min(level - low, span_x)
        options = np.linspace(start, end, 4 * candidates) if end > start else np.array([start])
        best, best_key = float(options[0]), (False, False, -1.0)
        for x in options:
            u0, v0, u1, v1 = contour_label_box(x / span_x, (level - x - low) / height)
            inside = u0 >= 0.03 and u1 <= 1.0 and v0 >= 0.0 and v1 <= 1.0
            hard = room(u0, v0, taken)
            # clear by a little: a projector's markers are larger than the shares allow for
            clear = hard > 0.025  # where no place is clear, the one farthest from the
            # hard obstacles (the soft ones then would pull it onto a point)
            key = (inside, clear, min(hard, room(u0, v0, wished)) if clear else hard)
            if key[:2] > best_key[:2] or (key[:2] == best_key[:2]
                                          and key[2] > best_key[2] + 1e-9):
                best, best_key = float(x), key
        places.append(best)
        u0, v0, _, _ = contour_label_box(best / span_x, (level - best - low) / height)
        # the placed label is an obstacle for the next: its box's corners and centre
        taken += [(u0 + du * width_share, v0 + dv * height_share)
                  for du in (0.0, 0.5, 1.0) for dv in (0.0, 0.5, 1.0)]
    return places


def _finished_label(point) -> str:
    """'β=2' ('β=1→10' for a run whose β was turned, 'β=1→…→10' through other values: its
    RatePoint.betas), with ' sweep' for a sweep's short run (beside a long live run at the
    same β it lies elsewhere for a reason) and ' Gaussian' for a Gaussian decoder (its D is
    a log density, far from a Bernoulli run's)."""
    label = str(getattr(point, "label", ""))
    betas = value_path(tuple(getattr(point, "betas", ())) or (point.beta,))
    return (f"β={betas}" + (" sweep" if label.startswith("sweep") else "")
            + (" Gaussian" if "gaussian" in label else ""))


def _plane_points(points: Sequence) -> list:
    """The finished runs the plane draws, in the order it numbers them: the latest
    MAX_FINISHED_POINTS with finite R and D (a diverged run has none)."""
    return [p for p in points
            if np.isfinite(p.rate) and np.isfinite(p.distortion)][-MAX_FINISHED_POINTS:]


def finished_points_names(points: Sequence) -> list[str]:
    """The finished runs the plane draws (_plane_points), each numbered as on the plane with
    where it lies: '2: sweep β=1 (R 12.7, D 127.0)'."""
    return [f"{i + 1}: {_finished_label(p)} (R {p.rate:.1f}, D {p.distortion:.1f})"
            for i, p in enumerate(_plane_points(points))]


def finished_points_key(points: Sequence) -> str:
    """The caption under the plane that names every green point by its number (a crowded
    plane labels some by their number only): 'Green points, nats: 1: β=0.25 sweep (R 24.0,
    D 118.0); 2: ...'. '' with none."""
    names = finished_points_names(points)
    return ("Green points (finished runs), nats: " + "; ".join(names) + ".") if names else ""


def make_histogram_figure(values: np.ndarray, x_title: str, bins: int = 40) -> go.Figure:
    """A histogram of the finite values; how many were NaN or infinite (a diverging model)
    is said in the title instead of breaking the binning."""
    values = np.asarray(values, dtype=np.float64).ravel()
    finite = values[np.isfinite(values)]
    dropped = len(values) - len(finite)
    counts, edges = np.histogram(finite if len(finite) else np.zeros(1), bins=bins)
    data = [dict(type="bar", x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges),
                 marker=dict(color="#2563eb"))]
    title = f"{dropped} of {len(values)} values not finite, left out" if dropped else None
    return _fast_figure(data, _layout(260, title, bargap=0,
                                      xaxis=dict(title=dict(text=x_title)),
                                      yaxis=dict(title=dict(text="count"))))


def make_bounds_figure(bounds: dict[int, float]) -> go.Figure:
    """IWAE bound L_k against k (log axis): L_1 is the ELBO; the curve rises to log p(x).
    Values are labelled below-right of the first point and above-left of the others, with
    room on both axes, so no label meets an axis or the top edge."""
    ks = sorted(bounds)
    values = [bounds[k] for k in ks]
    low, high = min(values), max(values)
    pad = max(high - low, 1.0) * 0.35
    fig = go.Figure(go.Scatter(
        x=ks, y=values, mode="lines+markers+text",
        text=[signed(v) for v in values],  # a true minus, as the ticks
        textposition=["bottom right" if i == 0 else "top left" for i in range(len(ks))],
        cliponaxis=False, line=dict(color="#2563eb")))
    fig.update_xaxes(type="log", title_text="importance samples k (k = 1 is the ELBO)",
                     range=[np.log10(min(ks)) - 0.3, np.log10(max(ks)) + 0.3],
                     tickvals=ks, ticktext=[f"{k:,}" for k in ks])  # no minor 2 and 5 labels
    fig.update_yaxes(title_text="L<sub>k</sub>, nats per image", range=[low - pad, high + pad])
    _base_layout(fig, height=320, title="Higher is tighter: L<sub>k</sub> rises towards "
                                        "log p(x)")
    return fig


# the 1-D fits' curves, by name prefix: hues far apart (plotly's default gave the truth and
# the mixture two similar purples), the truth dashed grey as the reference the fits chase
DENSITY_CURVE_STYLES = {"true density": dict(color="#1e293b", dash="dash"),
                        "histogram": dict(color="#dc2626"), "KDE": dict(color="#059669"),
                        "mixture": dict(color="#7c3aed")}


def make_density_1d_figure(grid: np.ndarray, curves: dict[str, np.ndarray],
                           samples: np.ndarray | None = None, held_out: np.ndarray | None = None,
                           y_title: str = "density p(x)", fill: str | None = None) -> go.Figure:
    """Density curves over a 1-D grid, samples as a rug; customdata on an invisible line
    lets a click anywhere place a sample at that x."""
    fig = go.Figure()
    for name, values in curves.items():
        # no hover on the curves: one lying along the axis took the pointer from the
        # clickable columns, and a line's point cannot be selected, so a click there did
        # nothing. The columns' tooltips read the curves' values instead.
        style = next((v for k, v in DENSITY_CURVE_STYLES.items() if name.startswith(k)), {})
        fig.add_trace(go.Scatter(x=grid, y=values, mode="lines", name=name, hoverinfo="skip",
                                 fill="tozeroy" if name == fill else None,
                                 line=dict(shape="hv" if name.startswith("histogram") else
                                           "linear", **style)))
    peak = max([float(np.nanmax(v)) for v in curves.values()] + [0.05])
    for points, name, colour, level in ((samples, "training samples", "#0f172a", -0.04),
                                        (held_out, "held-out samples", "#f97316", -0.08)):
        if points is not None and len(points):
            fig.add_trace(go.Scatter(x=points, y=np.full(len(points), level * peak),
                                     mode="markers", name=name, hoverinfo="skip",
                                     marker=dict(symbol="line-ns-open", size=10, color=colour),
                                     # a click selects a column: the ticks must not fade
                                     unselected=dict(marker=dict(opacity=1.0))))
    # invisible full-height columns every 0.1: a click anywhere above an x (not only on a
    # curve or the axis) lands on one and places a sample there
    columns = np.round(np.arange(grid[0], grid[-1] + 1e-9, 0.1), 2)
    at = np.clip(np.searchsorted(grid, columns), 0, len(grid) - 1)
    readings = np.column_stack([columns] + [np.asarray(v)[at] for v in curves.values()])
    lines = "".join(f"<br>{name}: %{{customdata[{i + 1}]:.3g}}" for i, name in enumerate(curves))
    fig.add_trace(go.Bar(x=columns, y=np.full(len(columns), 1.2 * peak), base=-0.1 * peak,
                         width=0.1, customdata=readings, showlegend=False,
                         marker=dict(color="rgba(0,0,0,0)", line=dict(width=0)),
                         hovertemplate="x = %{x:.1f}" + lines + "<br>click to add a sample "
                                       "here<extra></extra>"))
    fig.update_xaxes(title_text="x")
    fig.update_yaxes(title_text=y_title, range=[-0.1 * peak, 1.1 * peak])
    # the legend grows upwards from just above the plot: on a narrow chart it takes two or
    # three rows, which otherwise lay over the curves' peaks
    fig.update_layout(legend=dict(orientation="h", y=1.02, yanchor="bottom"),
                      clickmode="event+select", dragmode=False)
    # about as tall as the controls beside it on the page (at 360 the scores below the two
    # started ~100 px under the chart's caption; at 440 its x axis left a laptop's screen)
    return _base_layout(fig, height=410)


def _flat_window(values: Sequence[float]) -> list[float] | None:
    """A y range for values that are (nearly) all equal, or None when they spread: plotly
    would zoom into their rounding noise (ticks "−0.819911482", "−0.819911484")."""
    finite = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if finite.size == 0:
        return None
    scale = max(float(np.abs(finite).max()), 1e-12)
    if float(finite.max() - finite.min()) > 1e-6 * scale:
        return None
    middle = float(finite.mean())
    return [middle - 0.1 * scale, middle + 0.1 * scale]


def make_line_figure(x: Sequence[float], series: dict[str, Sequence[float]], x_title: str,
                     y_title: str, log_y: bool = False, log_x: bool = False,
                     title: str | None = None, height: int = 300,
                     styles: dict[str, dict] | None = None) -> go.Figure:
    """One line per series over x; `styles` gives a series its own line (dash, width).
    Integer x (steps, counts) gets integer ticks."""
    fig = go.Figure()
    for name, values in series.items():
        fig.add_trace(go.Scatter(x=list(x), y=list(values), mode="lines+markers", name=name,
                                 marker=dict(size=4), line=(styles or {}).get(name)))
    whole = len(x) > 0 and all(float(v).is_integer() for v in x)
    fig.update_xaxes(title_text=x_title, type="log" if log_x else None,
                     tickformat="d" if whole and not log_x else None)
    if whole and not log_x and max(x) - min(x) < 8:  # a few counts: one tick each, not
        fig.update_xaxes(dtick=1, range=[min(x) - 0.5, max(x) + 0.5])  # "0, 1, 1, 2, 2"
    fig.update_yaxes(title_text=y_title, type="log" if log_y else None,
                     exponentformat="power" if log_y else None)  # 10^-9, not "1n"
    if not log_y and (window := _flat_window([v for vs in series.values() for v in vs])):
        fig.update_yaxes(range=window)
    fig.update_layout(legend=dict(orientation="h", y=1.12))
    return _base_layout(fig, height=height, title=title)


def make_contour_figure(axis: np.ndarray, values: np.ndarray, points: np.ndarray | None = None,
                        labels: np.ndarray | None = None, title: str | None = None,
                        colorbar_title: str = "density", marked: Sequence[float] | None = None,
                        colorscale: str = "Blues", zmin: float | None = None,
                        zmax: float | None = None, clickable: bool = False,
                        height: int = 380,
                        band: tuple[float, float] | None = None) -> go.Figure:
    """A (n, n) field over axis x axis (rows = y) as filled contours with optional points,
    a marked point, a marked strip x1 in band = (low, high) (a slice the page conditions
    on), and an invisible clickable grid (customdata = (x, y)). Values are
    clipped to [zmin, zmax]; when some lay below zmin, the colour bar's first tick says so
    ("≤−6")."""
    # a horizontal bar between the title and the plot, placed in px from the figure's top
    # (yref="container"): a square that a narrow column shrinks keeps its top edge
    # (constraintoward="top") but not its bottom, so a bar under the plot floated. The
    # chart's title names the quantity, so the bar is named only in a chart without one.
    bar_top = CONTOUR_BAR_TOP + (30 if title else 0)
    colorbar = dict(title=dict(text=None if title else colorbar_title, side="top"),
                    thickness=10, orientation="h", len=0.6, yref="container",
                    y=1 - bar_top / (height + 100), yanchor="top")
    if zmin is not None and np.nanmin(values) < zmin:  # clipped: its end says "or less"
        top = float(np.nanmax(values)) if zmax is None else zmax
        # every other integer past 4: wide "≤−6" labels rotated on a narrow projector column
        ticks = np.arange(math.ceil(zmin), math.floor(top) + 1, 2 if top - zmin > 4 else 1)
        colorbar.update(tickvals=ticks, ticktext=[
            ("≤" if tick == zmin else "") + f"{tick:g}".replace("-", "−") for tick in ticks])
    if zmin is not None or zmax is not None:
        values = np.clip(values, zmin, zmax)
    # a horizontal colour bar under the plot leaves the column's whole width to the square
    fig = go.Figure(go.Contour(x=axis, y=axis, z=values, colorscale=colorscale, zmin=zmin,
                               zmax=zmax, contours=dict(coloring="heatmap"), line_width=0.5,
                               colorbar=colorbar,
                               hovertemplate="x1=%{x:.2f}, x2=%{y:.2f}: %{z:.3g}<extra></extra>"))
    if points is not None and len(points):
        if labels is None:
            fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers",
                                     marker=dict(size=4, color="#0f172a", line=dict(width=0)),
                                     hoverinfo="skip", showlegend=False))
        for label in ([] if labels is None else sorted(set(int(k) for k in labels))):
            chosen = np.asarray(labels) == label
            fig.add_trace(go.Scatter(
                x=points[chosen, 0], y=points[chosen, 1], mode="markers", name=f"y={label}",
                marker=dict(size=5, color=CLASS_COLOURS[label % len(CLASS_COLOURS)],
                            line=dict(width=0.5, color="white")), hoverinfo="skip"))
    if clickable:
        gx, gy = np.meshgrid(axis[::2], axis[::2])
        fig.add_trace(go.Scatter(x=gx.ravel(), y=gy.ravel(), mode="markers", showlegend=False,
                                 customdata=np.stack([gx.ravel(), gy.ravel()], 1),
                                 marker=dict(size=8, color="rgba(0,0,0,0.01)"),
                                 hovertemplate="click: x=(%{x:.2f}, %{y:.2f})<extra></extra>"))
    if marked is not None:
        fig.add_trace(go.Scatter(x=[marked[0]], y=[marked[1]], mode="markers", showlegend=False,
                                 # a dark outline: visible on red points and regions too
                                 marker=dict(size=16, symbol="x", color="#f97316",
                                             line=dict(width=1.5, color="#111827"))))
    if band is not None:  # the strip p(x2 | x1) is read from, outlined on the joint
        fig.add_vrect(x0=band[0], x1=band[1], fillcolor="rgba(249, 115, 22, 0.12)",
                      line=dict(color="#f97316", width=2), layer="above")  # orange, as
        # the page calls it
    # constrain="domain": a narrow column shrinks the square plot instead of stretching the
    # y range to keep the aspect ratio (which gave axes running to +-15)
    # no grid or zero lines: the filled contour hides them, all but a sliver at the plot's
    # right edge (a stray tick at x₂ = 0 beside the square)
    fig.update_xaxes(title_text="x₁", range=[axis[0], axis[-1]], constrain="domain",
                     showgrid=False, zeroline=False)
    # a square shrunk by a narrow column keeps its top where the plot area starts, level
    # with a chart beside it (see contour_frame)
    fig.update_yaxes(title_text="x₂", range=[axis[0], axis[-1]], scaleanchor="x",
                     constrain="domain", constraintoward="top", showgrid=False,
                     zeroline=False)
    # no legend: the page says which colour is which class once, above the plots (a legend
    # under each wrapped to two rows in a narrow column beside one that did not, and the
    # margin plotly grew for it shrank and lowered one plot of three); see class_key
    # a plot that takes no clicks selects nothing either: a click there faded its own
    # cross (plotly greys unselected points), which looked like a glitch
    fig.update_layout(dragmode=False, clickmode="event+select" if clickable else "none",
                      showlegend=False)
    fig = _base_layout(fig, height=height + 100, title=title)
    fig.update_layout(margin=dict(l=55, r=10, t=bar_top + CONTOUR_BAR_ROOM, b=70))
    if title:  # the title above the bar, at the figure's top
        fig.update_layout(title=dict(yref="container", y=1 - 6 / (height + 100),
                                     yanchor="top"))
    return fig


def contour_frame(fig: go.Figure, height: int = 380) -> go.Figure:
    """A chart drawn beside make_contour_figure(..., height, title=...) in the same frame:
    its height, title and margins, and its legend above the plot where the contour has its
    colour bar, so the two plots start and end level (a line chart of its own height stood
    lower and shorter). Changes and returns `fig`."""
    fig.update_layout(height=height + 100, legend=dict(orientation="h", x=0, y=1.0,
                                                       yanchor="bottom"),
                      margin=dict(l=55, r=10, t=CONTOUR_BAR_TOP + 30 + CONTOUR_BAR_ROOM, b=70),
                      title=dict(yref="container", y=1 - 6 / (height + 100), yanchor="top"))
    return fig


INPUT_BAND = 0.55  # share of a bar chart's y range (above 0) that its inputs take below 0


def make_bar_figure(categories: Sequence[str], values: Sequence[float], y_title: str,
                    title: str | None = None, height: int = 260,
                    y_range: Sequence[float] | None = None,
                    inputs: Sequence[np.ndarray] | None = None) -> go.Figure:
    """One bar per category, its value (3 significant figures) above it.

    `inputs`: one (H, W) grey image (uint8 or [0, 1]) per category, drawn under its own bar
    (between the zero line and the bar's name), so what was scored stands under its score
    at any width; the y range then reaches below 0 by INPUT_BAND of its top, and ticks stay
    at 0 and above. Raises ValueError when `inputs` and `categories` differ in length."""
    fig = go.Figure(go.Bar(x=list(categories), y=list(values), marker_color="#2563eb",
                           text=[f"{v:#.3g}".rstrip(".") for v in values],
                           textposition="outside"))  # 3 figures, as the captions
    fig.update_yaxes(title_text=y_title, range=y_range)
    if inputs is not None:
        if len(inputs) != len(categories):
            raise ValueError(f"{len(inputs)} inputs for {len(categories)} bars")
        finite = [float(v) for v in values if np.isfinite(v)]
        top = float(y_range[1]) if y_range is not None else 1.2 * max(finite + [1e-9])
        band = INPUT_BAND * top
        ticks = [t for t in nice_ticks(top) if t <= top]
        fig.update_yaxes(range=[-band, top], tickvals=ticks, zeroline=True,
                         zerolinecolor="#94a3b8")
        for category, image in zip(categories, inputs):
            source = "data:image/png;base64," + base64.b64encode(
                imaging.png_bytes(image, scale=4)).decode()
            fig.add_layout_image(source=source, xref="x", yref="y", x=category,
                                 y=-0.05 * top, sizex=0.8, sizey=band - 0.1 * top,
                                 xanchor="center", yanchor="top", sizing="contain", layer="above")
    return _base_layout(fig, height=height, title=title)


REPARAMETERIZATION_TOP_PX = 70  # px above the planes: two lines of subplot title


def make_reparameterization_figure(mu: np.ndarray, sigma: np.ndarray, eps: np.ndarray,
                                   z: np.ndarray, trick: bool = True) -> go.Figure:
    """Two 2-D planes: eps ~ N(0, I) with its 1- and 2-sigma circles, and q(z|x) =
    N(mu, diag(sigma^2)) with its ellipses, z = mu + sigma * eps and the arrow mu -> z.
    Without the trick the same z is drawn as the sampler's own: no ε beside it (the left
    plane is empty) and a dashed grey link from μ, which carries no gradient."""
    from plotly.subplots import make_subplots

    # room between the planes for the right one's tick labels and title ("z1" pressed
    # against the left plane)
    # titles of two lines: one line was cut at a projector's text size in a narrow column
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.2, subplot_titles=(
        "noise ε ~ 𝒩(0, I)<br>rings at 1 and 2" if trick else "no ε:<br>the sampler draws z",
        "z = μ + σ ⊙ ε<br>rings at 1σ and 2σ" if trick else "z ∼ 𝒩(μ, σ²)<br>rings at 1σ and 2σ"))
    angle = np.linspace(0, 2 * np.pi, 100)
    for radius in (1, 2):
        fig.add_trace(go.Scatter(x=radius * np.cos(angle), y=radius * np.sin(angle),
                                 mode="lines", line=dict(color="#cbd5e1"), hoverinfo="skip",
                                 showlegend=False), 1, 1)
        fig.add_trace(go.Scatter(x=mu[0] + radius * sigma[0] * np.cos(angle),
                                 y=mu[1] + radius * sigma[1] * np.sin(angle), mode="lines",
                                 line=dict(color="#bfdbfe"), hoverinfo="skip",
                                 showlegend=False), 1, 2)
    if trick:
        fig.add_trace(go.Scatter(x=[eps[0]], y=[eps[1]], mode="markers",
                                 marker=dict(size=12, color="#64748b"), showlegend=False), 1, 1)
        # its name pointing away from the origin, on a white ground (beside the point, it
        # sat on a ring: a draw lies near radius 1 or 2 often)
        out = np.asarray(eps, float) / max(float(np.hypot(*eps[:2])), 1e-9)
        fig.add_annotation(x=float(eps[0]), y=float(eps[1]), text="ε", showarrow=False,
                           xshift=16 * float(out[0]), yshift=16 * float(out[1]),
                           bgcolor="rgba(255, 255, 255, 0.85)", row=1, col=1)
    fig.add_trace(go.Scatter(x=[mu[0], z[0]], y=[mu[1], z[1]], mode="lines+markers+text",
                             # μ's label left and z's right: apart even when σ is tiny
                             text=["μ", "z"], textposition=["top left", "bottom right"],
                             marker=dict(size=[9, 13], color=["#2563eb", "#f97316"]),
                             line=dict(color="#2563eb") if trick
                             else dict(color="#94a3b8", dash="dash"), showlegend=False), 1, 2)
    # the right plane is centred on μ and spans ±3.5σ (the larger σ), so z's step away from
    # μ is visible even when q(z|x) is narrow; its ticks give the scale
    half = 3.5 * float(np.max(sigma)) if np.max(sigma) > 0 else 1.0
    half = max(half, 1.15 * float(np.max(np.abs(z - mu))), 1e-3)
    fig.update_xaxes(range=[-3.2, 3.2], title_text="ε0", row=1, col=1, constrain="domain")
    fig.update_yaxes(range=[-3.2, 3.2], title_text="ε1", row=1, col=1, scaleanchor="x",
                     constrain="domain")
    fig.update_xaxes(range=[mu[0] - half, mu[0] + half], title_text="z0", row=1, col=2,
                     constrain="domain")
    fig.update_yaxes(range=[mu[1] - half, mu[1] + half], title_text="z1", row=1, col=2,
                     scaleanchor="x2", constrain="domain")
    fig = _base_layout(fig, height=370)
    fig.update_layout(margin=dict(t=REPARAMETERIZATION_TOP_PX))  # the titles' two lines
    return fig


CURRENT_SUBPIXEL = "#f97316"  # orange, as the page's caption says


def make_subpixel_figure(seen: np.ndarray, current: tuple[int, int, int]) -> go.Figure:
    """A small colour image's subpixels (H, W, 3) as cells: each pixel is three cells R G B
    side by side; conditioned-on cells are filled in their colour, the current one outlined,
    later ones pale."""
    height, width, _ = seen.shape
    colours = {0: "#ef4444", 1: "#22c55e", 2: "#3b82f6"}
    fig = go.Figure()
    for channel, colour in colours.items():
        rows, cols = np.nonzero(np.ones((height, width), bool))
        filled = seen[rows, cols, channel]
        fig.add_trace(go.Scatter(
            x=cols * 4 + channel, y=rows, mode="markers", showlegend=False,
            marker=dict(symbol="square", size=26, line=dict(width=1, color="#94a3b8"),
                        color=[colour if f else "#f8fafc" for f in filled]),
            hovertemplate=f"{'RGB'[channel]} of (row %{{y}}, col %{{customdata}})<extra></extra>",
            customdata=cols))
    row, col, channel = current
    x = col * 4 + channel  # a shape, not a marker: chart themes recolour marker outlines
    fig.add_shape(type="rect", x0=x - 0.5, x1=x + 0.5, y0=row - 0.5, y1=row + 0.5,
                  line=dict(width=4, color=CURRENT_SUBPIXEL), fillcolor="rgba(249,115,22,0.35)")
    fig.update_xaxes(visible=False, range=[-1, width * 4 - 1])
    fig.update_yaxes(visible=False, autorange="reversed", range=[-0.6, height - 0.4])
    return _base_layout(fig, height=60 + 45 * height)


def make_correlation_figure(correlations: np.ndarray, dims: Sequence[int]) -> go.Figure:
    """A correlation matrix (K, K) of latent dimensions dims (K ints) as a heatmap on a
    -1..1 diverging scale. The ticks are the bare numbers k, upright, with "dimension k of
    z" as the axis titles ("z12" ticks turned 90 degrees in a laptop's narrow column)."""
    names = [str(int(d)) for d in dims]
    fig = go.Figure(go.Heatmap(z=correlations, x=names, y=names, zmin=-1, zmax=1,
                               colorscale="RdBu", reversescale=True,
                               colorbar=dict(title="correlation", thickness=12),
                               hovertemplate="z%{y} vs z%{x}: %{z:.2f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain",
                     title_text="dimension k of z", tickangle=0, type="category")
    # category: number-like names on a numeric axis put each cell at its value, not in order
    fig.update_xaxes(constrain="domain", constraintoward="right",  # beside its colour bar
                     title_text="dimension k of z", tickangle=0, type="category")
    return _base_layout(fig, height=420)

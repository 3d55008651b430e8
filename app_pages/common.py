"""Shared UI plumbing for every page: page catalog, cached loaders, sidebar, error display."""

from __future__ import annotations

import atexit
import base64
import html
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch

from explorer import checkpoints, data, device, imaging, latent
from explorer.device import device_name, pick_device
from explorer.elbo_lab import LAB_RUN, SWEEP_RUN
from explorer.lab_runs import LabRuns
from explorer.refresh import AdaptiveInterval
from explorer.run_store import RunStore, default_root
from explorer.typeset import signed

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PageInfo:
    path: str  # relative to the repo root
    title: str
    icon: str
    group: str  # navigation section, in lecture order
    teaches: str  # one line for the home page


GROUPS = ("Start", "Foundations", "Autoregressive", "Latent variable models", "Lab")

CATALOG: tuple[PageInfo, ...] = (
    PageInfo("app_pages/home.py", "Home", ":material/home:", "Start",
             "What each page teaches, and a map of the generative model families."),
    PageInfo("app_pages/density.py", "Density estimation", ":material/area_chart:", "Foundations",
             "A density is a budget of mass; fit one by maximum likelihood (with the log trick)."),
    PageInfo("app_pages/gen_vs_disc.py", "Generative vs discriminative", ":material/compare:",
             "Foundations",
             r"${p(y \mid x)},$ ${p(x)}$ and ${p(x \mid y)},$ linked by Bayes' rule; only ${p(x)}$ "
             "rates the input itself (and on images it can rate a blank above a digit)."),
    PageInfo("app_pages/autoregressive.py", "PixelCNN sampling", ":material/grid_on:",
             "Autoregressive",
             "An image as a sequence of 256-way choices: step through sampling pixel by pixel."),
    PageInfo("app_pages/latent_explorer.py", "Latent space explorer", ":material/tune:",
             "Latent variable models",
             "Drag one slider per latent dimension and watch a VAE's decoded digit morph."),
    PageInfo("app_pages/elbo_lab.py", "ELBO lab", ":material/science:", "Lab",
             "Train a VAE live and watch reconstruction and KL fight as you turn beta."),
)


def existing_pages() -> list[PageInfo]:
    """Catalog entries whose page file exists (later issues add files, not plumbing)."""
    return [page for page in CATALOG if (ROOT / page.path).is_file()]


_LOADED: dict[str, str] = {}
_LOADED_LOCK = threading.Lock()


def _file_version(path: str) -> str:
    """Changes whenever the checkpoint is re-saved, so caches never serve stale weights."""
    weights = Path(path).with_name(Path(path).name + ".pt")
    return str(weights.stat().st_mtime_ns) if weights.is_file() else "missing"


@st.cache_resource(show_spinner="Loading checkpoint...", max_entries=16)
def load_checkpoint(path: str, version: str = "") -> tuple[torch.nn.Module, dict]:
    """One shared, eval-mode model per checkpoint file version per server process.

    The card gets a `cache_key` naming the file version, for st.cache_data keys.
    Raises CheckpointError (not cached), which pages show with try_load_checkpoint.
    """
    model, card = checkpoints.load(path, device=pick_device())
    card = {**card, "cache_key": f"{path}@{version}"}
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    with _LOADED_LOCK:
        _LOADED[Path(path).name] = card.get("model", "?")
    return model, card


def try_load_checkpoint(path: str) -> tuple[torch.nn.Module, dict] | None:
    """load_checkpoint, or None after showing a clear st.error."""
    try:
        return load_checkpoint(path, _file_version(path))
    except checkpoints.CheckpointError as exc:
        st.error(f"Checkpoint `{Path(path).name}` could not be loaded: {exc}", icon=":material/error:")
        return None


def load_optional(name: str) -> tuple[torch.nn.Module, dict] | None:
    """A checkpoint by name, or None without a message when it is missing or unreadable
    (for helpers such as the digit classifier, whose absence only removes a verdict)."""
    try:
        path = checkpoint_path(name)
        return load_checkpoint(path, _file_version(path))
    except checkpoints.CheckpointError:
        return None


@st.cache_resource(show_spinner="Loading MNIST...", max_entries=4)
def load_split(name: str, split: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(images uint8 (N, 1, 28, 28), labels) or None when the data set is not on disk.

    Shared by all sessions without copying (cache_resource): callers must not modify it.
    """
    try:
        loaded = data.load(name, split)
    except data.DataError:
        return None
    return loaded.images, loaded.labels


def download_button(name: str = "mnist", where: str = "page") -> None:
    """A "Download MNIST" button with a progress bar; checksums are verified before use."""
    if data.is_available(name) or not st.button(f"Download {data.DATASETS[name].title} "
                                                "(about 11 MB)", key=f"download_{name}_{where}"):
        return
    bar = st.progress(0.0, text="Connecting...")

    def progress(file_name: str, done: int, total: int) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"{file_name}: {done / 2**20:.1f} of "
                                                      f"{total / 2**20:.1f} MB")
    try:
        data.download(name, progress=progress)
    except data.DataError as exc:
        st.error(f"The download failed: {exc}")
        return
    load_split.clear()
    st.rerun()


def data_missing_message(name: str = "mnist") -> str:
    try:
        data.load(name, "test")
    except data.DataError as exc:
        return str(exc)
    return ""


@st.cache_data
def _device_label() -> str:
    return device_name(pick_device())


@st.cache_data(show_spinner=False, max_entries=4)
def _cards(stamp: tuple) -> list[dict]:
    return checkpoints.available()


def checkpoint_cards() -> list[dict]:
    """checkpoints.available(), read again only when a checkpoint folder changed (a save):
    every page run lists the checkpoints, and reading each card costs the whole server."""
    return _cards(checkpoints.listing_stamp())


def checkpoint_path(name: str) -> str:
    """A shipped checkpoint by name, else a user's saved one (explorer.checkpoints.locate)."""
    return str(checkpoints.locate(name))


def following() -> bool:
    """True while this session mirrors a presenter (see app_pages/presenter.py)."""
    return bool(st.session_state.get("_following")) \
        and not st.session_state.get("_follow_detached")


def keep(disabled: bool = False) -> dict:
    """Keyword arguments for a control whose value survives a trip to another page, lives in
    the page's link, and is read-only while the session follows a presenter."""
    return {"persist_state": "session", "bind": "query-params",
            "disabled": disabled or following()}


def signed_slider(label: str, low: float, high: float, value: float, step: float, key: str,
                  where=st, **kwargs) -> float:
    """A slider over a range that crosses zero, labelled with true minus signs ("−2.5";
    st.slider's printf format can only write "-2.5"): a select slider over the grid low,
    low + step, ..., high, rounded to the step's decimals. Kept like `keep()` controls; the
    link holds the label as shown."""
    decimals = max(0, -int(np.floor(np.log10(step) + 1e-9)))
    grid = [round(low + i * step, decimals) for i in range(int(round((high - low) / step)) + 1)]
    return where.select_slider(label, grid, value=round(value, decimals), key=key,
                               format_func=lambda v: signed(v, decimals), **keep(), **kwargs)


def lazy_tabs(labels: list[str], key: str) -> list:
    """Tabs of which only the open one runs (a click elsewhere reruns only its fragment);
    the open tab is kept in the link."""
    return st.tabs(labels, key=key, on_change="rerun", bind="query-params")


def chart(figure, key: str, filename: str | None = None, projector_height: int | None = None,
          **kwargs):
    """st.plotly_chart with our defaults: no Streamlit theme (the figures carry their own
    colours) and a mode bar holding only "download as PNG", named after what it shows. In
    projector view the figure is drawn with large text, thick lines and big markers, and
    projector_height (px), when given, sets its height there instead of 1.35 times its own."""
    if projector():
        figure = projector_figure(figure, projector_height)
    return _plotly(figure, key, filename, **kwargs)


def _plotly(figure, key: str, filename: str | None, **kwargs):
    config = {"displaylogo": False, "modeBarButtons": [["toImage"]],
              "toImageButtonOptions": {"format": "png", "scale": 2,
                                       "filename": safe_filename(filename or key)}}
    return st.plotly_chart(figure, key=key, config=config, theme=None, **kwargs)


def level_row(charts: list[tuple]) -> list:
    """Charts side by side, one column each, whose plot areas end level (x axes in one
    line). `charts` holds (figure, key, filename) triples; returns the columns, for what
    goes under each.

    A page pairs figures drawn in one frame (same height and margins), level as they are.
    In projector view, where a page may pair others, each becomes a projector_figure and
    then takes the row's largest height and bottom margin. Each keeps its own top: a chart
    without a band of labels above it (the rate-distortion plane beside the loss terms'
    title and knob labels) gives that height to its plot, which a common top squashed."""
    columns = st.columns(len(charts))
    figures = [figure for figure, _, _ in charts]
    if projector():
        figures = [projector_figure(figure) for figure in figures]
        frame = dict(height=max(f.layout.height for f in figures),
                     margin=dict(b=max(f.layout.margin.b or 0 for f in figures)))
        for figure in figures:
            figure.update_layout(**frame)
    for column, figure, (_, key, filename) in zip(columns, figures, charts):
        with column:
            _plotly(figure, key, filename)
    return columns


def folded_on_projector(label: str, icon: str | None = None, parent=st):
    """A container (in `parent`, a column say) for what a page shows above its tabs:
    itself, or in projector view a closed expander named `label`, so the tabs and their
    charts start on the first screen (at 24 px text the intro, formula, a model's card and
    a gallery filled it)."""
    return parent.expander(label, icon=icon) if projector() else parent.container()


def intro(text: str, formula: str | None = None, then: str | None = None,
          aside: bool = False):
    """A page's intro: markdown `text`, then a displayed LaTeX `formula` and markdown `then`
    when given. In projector view it waits in a closed expander (folded_on_projector); the
    lecturer opens it to present the idea.

    With `aside`, returns where the page puts its own folded extras (folded_on_projector's
    `parent`): in projector view the half row beside the intro's expander (one row for the
    two, not two rows), else `st`, the page's flow where the page calls it."""
    parent = st.columns(2) if aside and projector() else [st, st]
    with folded_on_projector("The idea of this page", ":material/menu_book:", parent[0]):
        st.markdown(text)
        if formula is not None:
            st.latex(formula)
        if then is not None:
            st.markdown(then)
    return parent[1]


def projector() -> bool:
    """True when this session shows the projector view (sidebar toggle, ?projector=true)."""
    return bool(st.session_state.get("projector"))


def projector_figure(figure, height: int | None = None):
    """A copy of a figure for a projector: fonts of 24 px and more (as the page's text),
    lines twice as thick, markers half as large again, `height` px tall (default 1.35 times
    its own); a title or colour bar placed in px from the top (yref="container") keeps its
    place as the text grows (the shared original is left alone)."""
    import plotly.graph_objects as go

    big = go.Figure(figure)
    old_height = figure.layout.height or 360
    big.update_layout(font=dict(size=24), title_font=dict(size=28),
                      height=height or int(old_height * 1.35))  # squares grow too
    _keep_top_bands(figure, big, old_height)
    # larger tick labels need room: axis titles stand clear of them
    big.update_xaxes(automargin=True, title_standoff=14)
    big.update_yaxes(automargin=True, title_standoff=14)
    for trace in big.data:
        if getattr(trace, "line", None) is not None and trace.type == "scatter":
            trace.line.width = max(4, (trace.line.width or 2) * 2)
        size = getattr(getattr(trace, "marker", None), "size", None)  # bars have no size
        if isinstance(size, (int, float)):
            trace.marker.size = size * 1.5
        font = getattr(trace, "textfont", None)  # value labels on bars and points
        if font is not None and getattr(trace, "text", None) is not None:
            trace.textfont.size = max(24, (font.size or 12) * 1.6)
    above = 0.0  # how far the labels above the plot reach, px
    for note in big.layout.annotations:  # subplot titles and labels are annotations
        size = max(24, (note.font.size or 12) * 1.6)
        if note.yshift:  # rows of labels keep apart as their text grows
            note.yshift = note.yshift * size / (note.font.size or 12)
        note.font.size = size
        if note.yref == "paper" and (note.y or 0) >= 1:
            lines = 1 + (note.text or "").count("<br>")  # a title of two lines needs two
            above = max(above, (note.yshift or 0) + 1.4 * size * lines)
    # subplot titles and knob labels sit above the plots: room for them (a label on a data
    # point, as the 256-way chart's "taken", lies inside the plot and needs none)
    if above:
        old = figure.layout.margin.t or 50
        big.update_layout(margin=dict(t=max(old + 30, old - 20 + above)))
    return big


def _keep_top_bands(figure, big, old_height: int) -> None:
    """A title and horizontal colour bars placed in px from the top (yref="container", as
    make_contour_figure and contour_frame do) stay in the same order at 24-28 px text: their
    offsets from the top grow with the text (x 1.7), and so does the top margin above the
    plot (alike for a contour and the chart framed beside it, so the two stay level)."""
    grow, new_height = 1.7, big.layout.height
    title = big.layout.title
    placed = title.yref == "container" and title.y is not None and title.y < 1  # in px
    if placed:
        title.y = 1 - (1 - title.y) * old_height * grow / new_height
    bars = [trace.colorbar for trace in big.data if getattr(trace, "colorbar", None)
            is not None and trace.colorbar.yref == "container" and trace.colorbar.y is not None]
    for bar in bars:
        bar.y = 1 - (1 - bar.y) * old_height * grow / new_height
    if bars or placed:  # a chart framed as a contour beside it (contour_frame) grows alike
        big.update_layout(margin=dict(t=int((figure.layout.margin.t or 80) * grow)))


# the sampler's canvas shows no fullscreen button: on hover it stood over "Run to the end"
NO_CANVAS_TOOLBAR = '.st-key-ar_canvas [data-testid="stElementToolbar"] { display: none; }'
PROJECTOR_CSS = """<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 24px !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"] p, label, button p
  { font-size: 24px !important; line-height: 1.45 !important; }
[data-testid="stCaptionContainer"] { color: #1e293b !important; }
h1 { font-size: 2.4rem !important; padding: 0.2rem 0 0.5rem !important; }
h2, h3 { font-size: 2.1rem !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * { font-size: 2.6rem !important; }
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"]
  { display: none !important; }
[data-testid="stImage"] img { min-width: 70% !important; image-rendering: pixelated; }
[data-testid="stMetricValue"] p, [data-testid="stMetricValue"] div
  { font-size: 2.6rem !important; line-height: 1.2 !important; }
[data-testid="stPageLink"] a, [data-testid="stPageLink"] a *
  { white-space: normal !important; overflow: visible !important; height: auto !important; }
[data-testid="stMainBlockContainer"] { padding-top: 1rem !important; }
[data-testid="stHeader"] { background: transparent !important; pointer-events: none; }
[data-testid="stHeader"] button, [data-testid="stHeader"] a, [data-testid="stHeader"] [role=button]
  { pointer-events: auto; }
.st-key-projector_bar { position: relative; z-index: 999991; }
[data-testid="stTooltipIcon"] svg, [data-testid="stTooltipHoverTarget"] svg
  { width: 24px !important; height: 24px !important; }
[data-testid="stSelectbox"] input, [data-testid="stNumberInput"] input,
[data-testid="stTextInput"] input { font-size: 24px !important; }
""" + NO_CANVAS_TOOLBAR + "\n</style>"


# Streamlit's 6rem above a page's title left ~100 px empty on a laptop's 800: half of it
# keeps the title clear of the header's menu
LAPTOP_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 3rem !important; }
""" + NO_CANVAS_TOOLBAR + "\n</style>"


def projector_view() -> None:
    """In projector view: the page's CSS (large text, no sidebar, big images, dark
    captions for contrast) and a way back, since the sidebar toggle is hidden. Else the
    top padding's CSS (LAPTOP_CSS)."""
    if not projector():
        st.html(LAPTOP_CSS)
        return
    st.html(PROJECTOR_CSS)
    # the bar stands in the header's empty band (beside its menu), where the page's top
    # padding was: the page's own content starts about 120 px higher on the projector
    bar = st.container(key="projector_bar")
    leave, code = bar.columns([1, 2], vertical_alignment="center")  # its label whole at 1280
    leave.button("Leave projector view", key="projector_exit", icon=":material/close_fullscreen:",
                 on_click=st.session_state.__setitem__, args=("projector", False))
    if presentation := st.session_state.get("_presenting"):  # the sidebar that shows the
        from app_pages import links  # code is hidden here

        code.markdown(f"Students follow with the code **{presentation[0]}**: "
                      f"`{links.base_url()}?follow={presentation[0]}`")


def safe_filename(name: str) -> str:
    """A file name from what a download shows: letters, digits, '-', '_' and '.' only."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "download"


def picture(png: bytes, caption: str, filename: str, **kwargs) -> None:
    """An image with a small download button under it, named after what it shows."""
    st.image(png, caption=caption, output_format="PNG", **kwargs)
    download_png(png, filename)


def download_png(png: bytes, filename: str) -> None:
    """The small "PNG" download button of a picture (alone: pictures side by side put their
    buttons in a row of their own, level whatever their captions' lengths)."""
    st.download_button("PNG", png, file_name=safe_filename(filename) + ".png",
                       mime="image/png", icon=":material/download:", type="tertiary",
                       key=f"download_{safe_filename(filename)}", on_click="ignore")


def draw_sidebar():
    """Device in use, loaded checkpoints and background runs: the same on every page.

    Returns the placeholder that show_loaded_checkpoints fills once the page has run.
    """
    with st.sidebar:
        st.caption("Compute device")
        st.markdown(f"**{_device_label()}**")
        st.caption("Checkpoints loaded in this server")
        placeholder = st.empty()
        if not warm_up().finished:  # the 2 s refresh exists only while warming up
            warm_up_status()
        if not data.is_available("mnist"):
            st.caption("Data")
            st.markdown("MNIST is not on this machine: pages run from the shipped models; "
                        "training and test digits need it.")
            download_button("mnist", where="sidebar")
        _training_status()
    return placeholder


def show_loaded_checkpoints(placeholder) -> None:
    with _LOADED_LOCK:
        loaded = dict(_LOADED)
    if loaded:
        placeholder.markdown("\n".join(f"- `{name}` ({kind})"
                                        for name, kind in sorted(loaded.items())))
    else:
        placeholder.markdown("_none yet_")


@st.cache_resource(show_spinner=False, max_entries=4)
def _lab_runs(root: str) -> LabRuns:
    return LabRuns(RunStore(root))


def lab_runs() -> LabRuns:
    """The server's handle on background training runs (shared by every session; the runs
    themselves live in their own processes and in the run store on disk)."""
    return _lab_runs(str(default_root()))


def _training_status() -> None:
    """The runs in the store, as of this script run. No timer: a timer's fragment request
    cuts short any other fragment's run in the same session (a slider's, the ELBO lab's
    live view), so the sidebar refreshes with the page instead."""
    runs = lab_runs().recent.runs()
    if any(run.active for run in runs) and st.session_state.get("_link_page") == "elbo_lab":
        # the page shows the active run live; stopped and finished ones are listed below
        st.caption("Background training")
        st.markdown("_shown live on this page_")
        return
    st.caption(f"Background training (as of {time.strftime('%H:%M:%S')}; the ELBO lab's "
               "live view updates by itself)" if runs else "Background training")
    if not runs:
        st.markdown("_no run_")
        return
    for run in runs:
        progress = (f"{run.step} of {len(run.settings.get('betas', []))} betas"
                    if run.kind == "sweep" else
                    f"step {run.step:,}, epoch {run.epoch:.2f}, {run.seconds:.0f} s training")
        title = RUN_TITLES.get(run.name, run.name)  # "ELBO lab run", not its file's name
        st.markdown(f"{title}: **{run.state}**, {progress}")


RUN_TITLES = {LAB_RUN: "ELBO lab run", SWEEP_RUN: "β sweep"}


def show_grid(codes: np.ndarray, net, columns: int, scale: int, caption: str,
              filename: str = "latent_grid") -> None:
    """Decode latent codes (N, K) with `net` and show them as one image grid (downloadable)."""
    picture(grid_png(codes, net, columns, scale), caption, filename)


def grid_png(codes: np.ndarray, net, columns: int, scale: int) -> bytes:
    """Latent codes (N, K) decoded with `net` into one PNG grid, `columns` wide, each pixel
    drawn `scale` x `scale`."""
    return imaging.png_bytes(imaging.grid(latent.decode_arrays(net, codes), columns),
                             scale=scale)


@st.cache_resource(show_spinner=False)
def _refresh() -> AdaptiveInterval:
    return AdaptiveInterval()


class LiveInterval:
    """The live views' refresh interval, adapted to this server's load (explorer.refresh)."""

    @staticmethod
    def seconds() -> float:
        return round(_refresh().seconds(), 1)

    @staticmethod
    def record(seconds: float) -> None:
        session = st.session_state.setdefault("_session_id", os.urandom(8).hex())
        _refresh().record(session, seconds)


live_interval = LiveInterval()


def share_and_projector() -> None:
    """The sidebar's "Share this view" link and the projector toggle."""
    from app_pages import links

    with st.popover("Share this view", icon=":material/link:"):
        st.caption("This link reopens the page exactly as it is now (same model, seed, "
                   "controls and sampled pixels):")
        st.code(links.current_link(), language=None)
    st.toggle("Projector view", key="projector", persist_state="session", bind="query-params",
              help="Large text, thick lines, big images, no sidebar: for a lecture hall.")


def inline_image(png: bytes, caption: str, width: int | None = None, top: int = 0) -> None:
    """A PNG embedded in the page (a data URL): nothing for the browser to fetch afterwards,
    so a fast-refreshing view never points at an image the server has already dropped.
    `top` px above it: level with the plot of an untitled chart beside it."""
    style = f"width:{width}px;" if width else "max-width:100%;"
    st.html(f'<figure style="margin:{top}px 0 0 0"><img alt="{html.escape(caption)}" '
            f'style="{style}'
            f'image-rendering:pixelated" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}"/><figcaption style="font-size:0.85em;'
            f'color:#475569">{html.escape(caption)}</figcaption></figure>')


GALLERY_MODELS = {"gated_pixelcnn_mnist": "the PixelCNN page's samples",
                  "masked_pixelcnn_mnist": "the masked PixelCNN's samples",
                  "pixel_transformer_mnist": "the Pixel Transformer's samples"}


def _gallery(name: str) -> None:
    """The samples the PixelCNN page shows for a model (drawn once, then cached for
    everyone): the gated model's first, then the others', so a first switch of model does
    not wait half a minute."""
    from app_pages import caches  # caches imports this module

    loaded = load_optional(name)
    if loaded is not None:
        caches.sample_gallery(loaded[1]["cache_key"], loaded[0])


class QuietWarmUp(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warning for the warm-up thread: filling
    the caches outside any script run is what that thread is for."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.threadName == "warm-up"
                    and "missing ScriptRunContext" in record.getMessage())


def serving() -> bool:
    """Whether a Streamlit server runs this process: not a test's AppTest, whose runtime is
    a mock (st.runtime.exists() is True there too)."""
    from streamlit.runtime import Runtime

    return st.runtime.exists() and type(st.runtime.get_instance()) is Runtime


class WarmUp:
    """Loads what first visits would otherwise wait for (MNIST, the shipped checkpoints) in a
    background thread when the server starts; the sidebar shows how far it got."""

    def __init__(self, steps: list[tuple[str, Any]] | None = None,
                 in_server: bool | None = None) -> None:
        """steps: (name, callable) pairs to run in order; by default MNIST, the shipped
        checkpoints and the PixelCNN page's galleries. in_server (default: whether a
        Streamlit server runs this process) lets finish_at_exit end a stopped server at
        once."""
        if steps is None:
            steps = [("MNIST training set", lambda: load_split("mnist", "train")),
                     ("MNIST test set", lambda: load_split("mnist", "test"))]
            for card in checkpoint_cards():
                if card.get("source", "shipped") == "shipped" and "error" not in card:
                    steps.append((card["name"], lambda path=card["path"]:
                                  load_checkpoint(path, _file_version(path))))
            steps += [(title, lambda name=name: _gallery(name))
                      for name, title in GALLERY_MODELS.items()]
        self.steps = steps
        self.in_server = serving() if in_server is None else in_server
        self.stopping = threading.Event()
        self.done = 0
        self.failed: list[str] = []
        logger = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
        if not any(isinstance(f, QuietWarmUp) for f in logger.filters):
            logger.addFilter(QuietWarmUp())
        self.thread = threading.Thread(target=self._run, name="warm-up", daemon=True)
        self.thread.start()
        atexit.register(self.finish_at_exit)

    def finish_at_exit(self, grace_s: float = 3.0) -> None:
        """At interpreter exit (the server was stopped): no further step starts, and the one
        under way has grace_s seconds to end. A process that exits while this thread is
        inside torch aborts ("terminate called without an active exception"), and waiting
        for a gallery kept a stopped server alive for up to a minute: past the grace the
        process ends at once with status 0 (os._exit, logs flushed first), running no C++
        destructors. Outside a server (tests, scripts), whose exit status must stand, it
        waits for the step as before, up to a minute."""
        self.stopping.set()
        self.thread.join(grace_s if self.in_server else 60.0)
        if self.thread.is_alive() and self.in_server:
            logging.shutdown()
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            os._exit(0)

    def _run(self) -> None:
        for name, load in self.steps:
            if self.stopping.is_set():
                break
            try:
                load()
            except Exception:  # a broken file is reported where it is used, not here
                self.failed.append(name)
            self.done += 1

    @property
    def finished(self) -> bool:
        return self.done >= len(self.steps)


@st.cache_resource(show_spinner=False)
def warm_up() -> WarmUp:
    return WarmUp()


@st.fragment(run_every=2.0)
def warm_up_status() -> None:
    """While the server warms up: "Preparing models and data: 3 of 9 ready"."""
    state = warm_up()
    if not state.finished:
        st.progress(state.done / max(len(state.steps), 1),
                    text=f"Preparing models and data: {state.done} of {len(state.steps)} "
                         "ready")


device.limit_malloc_arenas()  # once per server process, when the pages are first imported
device.limit_server_threads()

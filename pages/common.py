"""Shared UI plumbing for every page: page catalog, cached loaders, sidebar, error display."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from explorer import checkpoints, data
from explorer.device import device_name, pick_device
from explorer.training import REGISTRY

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
    PageInfo("pages/home.py", "Home", ":material/home:", "Start",
             "What each page teaches, and a map of the generative model families."),
    PageInfo("pages/density.py", "Density estimation", ":material/area_chart:", "Foundations",
             "A density is a budget of mass; fit one by maximum likelihood (with the log trick)."),
    PageInfo("pages/gen_vs_disc.py", "Generative vs discriminative", ":material/compare:",
             "Foundations",
             "p(y|x), p(x) and p(x|y), linked by Bayes' rule; only p(x) can reject odd inputs."),
    PageInfo("pages/autoregressive.py", "PixelCNN sampling", ":material/grid_on:",
             "Autoregressive",
             "An image as a sequence of 256-way choices: step through sampling pixel by pixel."),
    PageInfo("pages/latent_explorer.py", "Latent space explorer", ":material/tune:",
             "Latent variable models",
             "Drag one slider per latent dimension and watch a VAE's decoded digit morph."),
    PageInfo("pages/elbo_lab.py", "ELBO lab", ":material/science:", "Lab",
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


def data_missing_message(name: str = "mnist") -> str:
    try:
        data.load(name, "test")
    except data.DataError as exc:
        return str(exc)
    return ""


@st.cache_data
def _device_label() -> str:
    return device_name(pick_device())


def checkpoint_path(name: str) -> str:
    return str(checkpoints.checkpoint_dir() / name)


def draw_sidebar():
    """Device in use, loaded checkpoints and background runs: the same on every page.

    Returns the placeholder that show_loaded_checkpoints fills once the page has run.
    """
    with st.sidebar:
        st.caption("Compute device")
        st.markdown(f"**{_device_label()}**")
        st.caption("Checkpoints loaded in this server")
        placeholder = st.empty()
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


@st.fragment(run_every=2.0)
def _training_status() -> None:
    runs = REGISTRY.runs()
    st.caption("Background training")
    if not runs:
        st.markdown("_no run_")
        return
    for trainer in runs:
        summary = trainer.summary()
        st.markdown(f"`{summary['name']}` **{summary['state']}**: step {summary['step']}, "
                    f"epoch {summary['epoch']}, {summary['seconds']} s")


def _leave_pages_directory_mode() -> None:
    """Streamlit treats a folder named pages/ as a v1 multipage app until st.navigation
    first runs in the process, so a deep link opened first on a fresh server would run the
    page without streamlit_app.py (no sidebar, no navigation). Switch to v2 and rerun."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_pages_directory_mode()

"""A follower's watch on a presentation, in the browser (Streamlit Components v2).

The presenter's server writes the presentation's version to a static file (see
version_file); each follower's page reads that file four times a second and, when the
version is newer than the one this session applied, sends one trigger that reruns only the
fragment holding the watcher. While nothing changes, no script runs on the server for the
followers at all: 30 followers cost 120 small static-file requests a second instead of 60
fragment runs. Where the file cannot be read, the page asks the server once a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

ASSETS = Path(__file__).resolve().parent
# served by Streamlit at app/static/ (server.enableStaticServing in .streamlit/config.toml)
STATIC_DIR = ASSETS.parents[1] / "static"
FOLLOW_DIR = STATIC_DIR / "follow"

_mount = st.components.v2.component(
    "presentation_watcher", js=(ASSETS / "presentation_watcher.js").read_text(encoding="utf-8"))


def version_file(code: str) -> Path:
    """Where a presentation's version is published for its followers' pages."""
    return FOLLOW_DIR / f"{code.upper()}.txt"


def write_version(code: str, version: int) -> None:
    """Publish `version` for `code` (atomically: a page never reads half a number).
    OSError (a read-only checkout) is left to the caller, whose followers then poll."""
    FOLLOW_DIR.mkdir(parents=True, exist_ok=True)
    target = version_file(code)
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(str(int(version)), encoding="ascii")
    os.replace(temporary, target)


def prune(max_age_s: float = 86_400.0) -> int:
    """Delete version files untouched for `max_age_s` (presentations long over); returns how
    many. Called when a presentation starts, so the folder never grows without bound."""
    import time

    removed = 0
    for path in FOLLOW_DIR.glob("*.txt") if FOLLOW_DIR.is_dir() else ():
        try:
            if time.time() - path.stat().st_mtime > max_age_s:
                path.unlink()
                removed += 1
        except OSError:  # another server pruned it first
            continue
    return removed


def watch(url: str, applied: int, *, key: str) -> int | None:
    """Mount the watcher (inside the fragment it should rerun). `url` is the version file
    as the browser reaches it, `applied` the version this session shows. Returns the
    version whose change caused this run (-1: the page could not read the file and asks
    the server to look), else None."""
    result = _mount(key=key, data={"url": url, "applied": int(applied)},
                    on_changed_change=lambda: None)
    changed = result.get("changed") if result is not None else None
    return int(changed) if isinstance(changed, (int, float)) else None

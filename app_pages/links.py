"""Links that reproduce a view: widget values live in the URL (bind="query-params"), and so
does each page's work in progress (sampled pixels, placed samples, a latent point). Opening
a link rebuilds the view; parameters that are not valid fall back to defaults with a
one-line notice."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

import streamlit as st

RAW = "_link_raw"  # the query parameters the session's first run arrived with
PUT = "_link_put"  # {page: {key: the value this server last wrote there, None = removed}}


def remember_arrival() -> None:
    """Keep the URL's parameters as they arrived (call first, in the entry script)."""
    if RAW not in st.session_state:
        st.session_state[RAW] = {k: st.query_params.get_all(k) for k in st.query_params}


def replace_arrival(params: dict[str, str]) -> None:
    """Treat `params` as a newly opened link (a presenter's update for a follower): its work
    in progress is consumed again and its notices are not repeated."""
    st.session_state[RAW] = {k: [v] for k, v in params.items()}
    st.session_state.pop("_link_consumed", None)


def page_file(url_path: str) -> str:
    """The page script behind a url path ('' is the home page)."""
    from app_pages.common import existing_pages

    for page in existing_pages():
        if page.path.rsplit("/", 1)[-1].removesuffix(".py") == (url_path or "home"):
            return page.path
    return "app_pages/home.py"


def base_url() -> str:
    """The server's address as the browser sees it, without page or parameters."""
    url = str(st.context.url or "")
    parts = url.split("?")[0].split("/")
    return "/".join(parts[:3]) + "/" if len(parts) >= 3 else url


def arrived(key: str) -> str | None:
    """The value `key` had in the link this session was opened with (None if absent)."""
    values = st.session_state.get(RAW, {}).get(key)
    return values[-1] if values else None


def consume(key: str, parse: Callable[[str], object]) -> tuple[object, str | None]:
    """A work-in-progress parameter from the arrival link, once per session: (value or None,
    a notice when it could not be parsed). Later runs return (None, None)."""
    done = st.session_state.setdefault("_link_consumed", set())
    text = arrived(key)
    if text is None or key in done:
        return None, None
    done.add(key)
    try:
        return parse(text), None
    except (ValueError, TypeError) as exc:
        return None, f"`{key}={text}` ({exc})"


def put(**values: object) -> None:
    """Write work-in-progress parameters into the URL ('' or None removes one); a
    presenter's followers get the change at once."""
    changed = False
    page = st.session_state.get("_link_page", "")
    written = st.session_state.setdefault(PUT, {}).setdefault(page, {})
    for key, value in values.items():
        written[key] = None if value in (None, "") else str(value)
        if value in (None, ""):
            if key in st.query_params:
                del st.query_params[key]
                changed = True
        elif st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)
            changed = True
    if changed and st.session_state.get("_presenting"):
        from app_pages import presenter  # imports links: a late import avoids the cycle

        presenter.publish()


def written_here() -> dict[str, str | None]:
    """The work-in-progress parameters this server last wrote on the current page (None:
    removed). A rerun requested by the browser carries the browser's URL, which may not yet
    have the server's latest change; these values are the truth."""
    return dict(st.session_state.get(PUT, {}).get(st.session_state.get("_link_page", ""), {}))


def _same(text: str, value: object, format_value: Callable[[object], str] | None) -> bool:
    if format_value is not None:
        return text == format_value(value)
    if isinstance(value, bool):
        return text.lower() in ("true", "1") if value else text.lower() in ("false", "0")
    if isinstance(value, (int, float)):
        try:
            return math.isclose(float(text), float(value), rel_tol=1e-9, abs_tol=1e-12)
        except ValueError:
            return False
    return text == str(value)


def check(keys: list[str], formats: Mapping[str, Callable[[object], str]] | None = None,
          problems: list[str | None] = ()) -> None:
    """At the end of a page's first run in a session: one notice listing the link's widget
    values that were not valid (Streamlit fell back to the default) and the work-in-progress
    parameters that could not be used. Never raises."""
    page = st.session_state.get("_link_page", "")
    st.session_state.setdefault("_link_keys", {})[page] = list(keys)
    checked = st.session_state.setdefault("_link_checked", set())
    if page in checked:
        return
    checked.add(page)
    bad = [p for p in problems if p]
    for key in keys:
        text = arrived(key)
        if text is not None and key in st.session_state \
                and not _same(text, st.session_state[key], (formats or {}).get(key)):
            bad.append(f"`{key}={text}`")
    if bad:
        st.info("This link's " + ", ".join(bad) + " could not be used here; the page shows "
                "its default instead.", icon=":material/link_off:")


def current_link() -> str:
    """The page's URL with its parameters, to share."""
    base = str(st.context.url or "").split("?")[0]
    query = urlencode([(k, v) for k in st.query_params for v in st.query_params.get_all(k)])
    return base + ("?" + query if query else "")

"""Generative Models Explorer: entry point. Builds the navigation, the shared sidebar, and
runs the selected page."""

from pathlib import Path

# Imported whole before any session runs a page: plotly imports pandas lazily, and a room of
# browsers opening at once raced on that import ("partially initialized module 'pandas'").
import pandas  # noqa: F401
import streamlit as st

from app_pages import links, presenter
from app_pages.common import (
    GROUPS,
    draw_sidebar,
    existing_pages,
    projector_view,
    share_and_projector,
    show_loaded_checkpoints,
)

FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"


def main() -> None:
    # a local favicon: a material-icon favicon is fetched from Google's font servers, which
    # an offline classroom network cannot reach
    st.set_page_config(page_title="Generative Models Explorer", page_icon=str(FAVICON),
                       layout="wide")
    links.remember_arrival()
    presenter.arrive()
    presenter.starting()
    sections: dict[str, list] = {group: [] for group in GROUPS}
    for page in existing_pages():
        sections[page.group].append(st.Page(page.path, title=page.title, icon=page.icon,
                                            default=page.path == "app_pages/home.py"))
    navigation = st.navigation({group: pages for group, pages in sections.items() if pages})
    st.session_state["_link_page"] = navigation.url_path
    loaded_list = draw_sidebar()
    with st.sidebar:
        share_and_projector()
        presenter.sidebar()
    presenter.apply_update()
    projector_view()
    try:
        navigation.run()
    finally:  # after the page ran, so checkpoints it loaded are listed (even after st.stop)
        show_loaded_checkpoints(loaded_list)
        presenter.publish()  # followers see this run's result at once
        presenter.rendered()
        with st.sidebar:
            presenter.poll()


main()

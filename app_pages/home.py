"""Home: what each page teaches, and a clickable taxonomy of generative models."""

import streamlit as st

from app_pages.common import chart, existing_pages, projector
from explorer import selection, taxonomy
from explorer.figures import make_taxonomy_figure

HOME = "app_pages/home.py"

st.title("Generative Models Explorer")
st.markdown(
    "Touch the ideas of a first lecture on generative models: a density is a budget of "
    "probability mass that inputs compete for; autoregressive models turn an image into a "
    "sequence of 256-way choices; VAEs learn a latent space by trading reconstruction "
    "against a KL term. Every page runs real models on this machine.")


def page_cards() -> None:
    """One card per page, in lecture order, in rows of three whose cards are equally tall
    (each card stretches to its row's tallest, however its text wraps)."""
    pages = [page for page in existing_pages() if page.path != HOME]
    for start in range(0, len(pages), 3):
        for column, page in zip(st.columns(3), pages[start:start + 3]):
            with column, st.container(border=True, height="stretch"):
                st.caption(page.group.upper())
                st.page_link(page.path, label=page.title, icon=page.icon)
                st.caption(page.teaches)


def pick_family(key: str) -> None:
    st.session_state.taxonomy_pick = key


@st.fragment
def taxonomy_map() -> None:
    """The family tree: click a node or pick it to read what it trades off."""
    keys = [family.key for family in taxonomy.FAMILIES]
    st.session_state.setdefault("taxonomy_pick", "autoregressive")
    # the family's words beside the map, so a click's answer is on the same screen (a
    # projector's 24-px labels need two thirds of its width)
    map_column, detail_column = st.columns([2, 1] if projector() else [3, 2])
    with map_column:
        event = chart(make_taxonomy_figure(st.session_state.taxonomy_pick),
                      key="taxonomy_chart", filename="generative_model_taxonomy",
                      on_select="rerun", selection_mode="points", width="stretch")
        clicked = selection.clicked_customdata(event)
        clicked = clicked if clicked in keys else None
        if clicked and clicked != st.session_state.get("taxonomy_last_click"):
            st.session_state.taxonomy_last_click = clicked
            pick_family(clicked)
            st.rerun(scope="fragment")
    with detail_column:
        choice = st.selectbox("Family", keys, key="taxonomy_pick", bind="query-params",
                              persist_state="session",
                              format_func=lambda k: taxonomy.BY_KEY[k].label)
        family = taxonomy.BY_KEY[choice]
        st.markdown(f"### {family.label}")
        st.write(family.summary)
        st.table({"question": ["Exact likelihood?", "Fast sampling?", "Useful latent?"],
                  "answer": [family.exact_likelihood, family.fast_sampling,
                             family.useful_latent]})
        if family.examples:
            st.caption("Examples: " + ", ".join(family.examples))
        if family.page and family.page in {p.path for p in existing_pages()} \
                and family.page != HOME:
            st.page_link(family.page, label="Explore it in this app",
                         icon=":material/arrow_forward:")
        elif family.page is None and not taxonomy.children(family.key):
            st.caption("No page for this family yet.")


def map_section() -> None:
    st.subheader("A map of generative models")
    st.caption("Click a node (or pick one from the list beside it) to read what the family "
               "does and trades off. Blue leaves have a page in this app; grey ones do not "
               "yet.")
    taxonomy_map()


def pages_section() -> None:
    st.subheader("The pages")
    page_cards()


# a projector shows the lecture's map on its first screen; the page cards follow it
for section in (map_section, pages_section) if projector() else (pages_section, map_section):
    section()

"""Home: what each page teaches, and a clickable taxonomy of generative models."""

import streamlit as st

from app_pages.common import existing_pages
from explorer import taxonomy
from explorer.figures import make_taxonomy_figure

st.title("Generative Models Explorer")
st.markdown(
    "Touch the ideas of a first lecture on generative models: a density is a budget of "
    "probability mass that inputs compete for; autoregressive models turn an image into a "
    "sequence of 256-way choices; VAEs learn a latent space by trading reconstruction "
    "against a KL term. Every page runs real models on this machine.")

st.subheader("The pages")
pages = [page for page in existing_pages() if page.path != "app_pages/home.py"]
columns = st.columns(max(1, min(3, len(pages))) if pages else 1)
for index, page in enumerate(pages):
    with columns[index % len(columns)], st.container(border=True):
        st.caption(page.group.upper())
        st.page_link(page.path, label=page.title, icon=page.icon)
        st.caption(page.teaches)
if not pages:
    st.info("More pages arrive as the lecture's topics are built.")

st.subheader("A map of generative models")
st.caption("Click a node (or pick one below) to read what the family does and trades off. "
           "Blue leaves have a page in this app; grey ones do not yet.")
if "taxonomy_pick" not in st.session_state:
    st.session_state.taxonomy_pick = "autoregressive"

keys = [family.key for family in taxonomy.FAMILIES]
map_column, detail_column = st.columns([3, 2])
with map_column:
    event = st.plotly_chart(make_taxonomy_figure(st.session_state.taxonomy_pick),
                            on_select="rerun", selection_mode="points", key="taxonomy_chart",
                            config={"displayModeBar": False}, width="stretch", theme=None)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    clicked = next((p.get("customdata") for p in points if p.get("customdata") in keys), None)
    if clicked and clicked != st.session_state.get("taxonomy_last_click"):
        st.session_state.taxonomy_last_click = clicked
        st.session_state.taxonomy_pick = clicked
        st.rerun()

with detail_column:
    choice = st.selectbox("Family", keys, key="taxonomy_pick",
                          format_func=lambda k: taxonomy.BY_KEY[k].label)
    family = taxonomy.BY_KEY[choice]
    st.markdown(f"### {family.label}")
    st.write(family.summary)
    st.table({"question": ["Exact likelihood?", "Fast sampling?", "Useful latent?"],
              "answer": [family.exact_likelihood, family.fast_sampling, family.useful_latent]})
    if family.examples:
        st.caption("Examples: " + ", ".join(family.examples))
    page_paths = {page.path for page in existing_pages()}
    if family.page and family.page in page_paths and family.page != "app_pages/home.py":
        st.page_link(family.page, label="Explore it in this app", icon=":material/arrow_forward:")
    elif family.page is None and not taxonomy.children(family.key):
        st.caption("No page for this family yet.")

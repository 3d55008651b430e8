"""AppTest: every page renders without exception; the home page's controls change the view."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common import existing_pages

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def open_page(path: str, projector: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if projector:
        at.query_params["projector"] = "true"
    at.run()
    if path != "app_pages/home.py":
        at.switch_page(path).run()
    return at


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Select a lazy tab (only the open tab's fragment runs) and rerun."""
    at.session_state[key] = label
    return at.run()


@pytest.mark.parametrize("path", [page.path for page in existing_pages()])
def test_every_page_renders(path):
    at = open_page(path)
    assert not at.exception, at.exception
    assert at.title, f"{path} shows no title"


def test_sidebar_shows_device_and_training_sections():
    at = open_page("app_pages/home.py")
    sidebar_text = " ".join(m.value for m in at.sidebar.markdown)
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Compute device" in captions and "Background training" in captions
    assert "CPU" in sidebar_text or "GPU" in sidebar_text


def test_taxonomy_pick_changes_details():
    at = open_page("app_pages/home.py")
    before = [m.value for m in at.markdown if m.value.startswith("### ")]
    at.selectbox(key="taxonomy_pick").set_value("direct").run()
    after = [m.value for m in at.markdown if m.value.startswith("### ")]
    assert before != after and after == ["### Direct (GAN)"]
    assert not at.exception


def page_tabs(path: str) -> tuple[str, list[str]] | None:
    """(session key, labels) of a page's lazy tabs, read from its source."""
    import ast
    import re

    source = (Path(APP).parent / path).read_text()
    labels = next((ast.literal_eval(node.value) for node in ast.parse(source).body
                   if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "TABS"),
                  None)
    key = re.search(r'lazy_tabs\(TABS, key="(\w+)"\)', source)
    return (key.group(1), labels) if labels and key else None


@pytest.mark.parametrize("projector", [False, True], ids=["normal", "projector"])
@pytest.mark.parametrize("path", [page.path for page in existing_pages()
                                  if page_tabs(page.path)])
def test_every_tab_of_every_page_renders(path, projector, use_tiny_checkpoints):
    key, labels = page_tabs(path)
    at = open_page(path, projector)
    for label in labels:
        at.session_state[key] = label
        at.run()
        assert not at.exception, (label, at.exception)

"""Pages are thin: a title, an intro, shared controls and one fragment per tab calling
explorer/. No page does torch work outside st.cache_* loaders, and none is long."""

import ast
from pathlib import Path

import pytest

from app_pages.common import existing_pages

ROOT = Path(__file__).resolve().parent.parent
PAGE_FILES = sorted((ROOT / "app_pages").rglob("*.py"))
MAX_PAGE_LINES = 180  # "about 170": a title, an intro, shared controls, one fragment per tab


def cached(function: ast.FunctionDef) -> bool:
    return any("cache_" in ast.unparse(d) for d in function.decorator_list)


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_torch_is_used_only_in_cached_loaders_and_annotations(path):
    tree = ast.parse(path.read_text())
    offenders = []

    def visit(node, inside_cache=False):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside_cache = inside_cache or cached(node)
            for child in node.body:  # annotations and decorators may name torch types
                visit(child, inside_cache)
            return
        if isinstance(node, ast.Call) and not inside_cache:
            name = ast.unparse(node.func)
            if name.startswith(("torch.", "nn.")):
                offenders.append(f"{path.name}:{node.lineno} {name}")
        for child in ast.iter_child_nodes(node):
            visit(child, inside_cache)

    visit(tree)
    assert not offenders, offenders


@pytest.mark.parametrize("page", [p.path for p in existing_pages()])
def test_pages_are_short_and_made_of_fragments(page):
    source = (ROOT / page).read_text()
    assert len(source.splitlines()) <= MAX_PAGE_LINES, page
    tree = ast.parse(source)
    tabs = "lazy_tabs(" in source
    fragments = [f for f in tree.body if isinstance(f, ast.FunctionDef)
                 and any("fragment" in ast.unparse(d) for d in f.decorator_list)]
    assert fragments or not tabs, f"{page} has tabs but no fragment per tab"

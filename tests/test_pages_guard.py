"""Every page script starts with the access check, ui.page (ui/gate.py): Streamlit serves any file
in pages/ to anyone who types its URL, so that first call is what keeps a guest out."""

import ast

import pytest

from tests.factories.paths import ROOT

PAGE_FILES = sorted((ROOT / "pages").glob("*.py"))
GUARDS = {"page"}


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_first_statement_is_the_ui_guard(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = [
        node
        for node in tree.body
        if not isinstance(node, ast.Import | ast.ImportFrom)
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    first = body[0]
    call = first.value if isinstance(first, ast.Assign | ast.Expr) else None
    assert isinstance(call, ast.Call), f"{path.name}: first statement is not a call"
    func = call.func
    assert isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name), path.name
    assert (func.value.id, func.attr) in {("ui", g) for g in GUARDS}, path.name


def test_no_streamlit_page_is_public():
    # The participant's pulse, the one page without sign-in, is plain HTML from pulse_page.py.
    assert not (ROOT / "pages" / "pulse.py").exists()

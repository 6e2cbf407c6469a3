"""AppTest runs of the page scripts (signed in or not), and what a page sent to the browser:
every element's message, and every use a page script makes of its store."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from program.store import Store
from tests.factories.paths import ROOT


def signed_in(at, store: Store, user) -> None:  # type: ignore[no-untyped-def]
    """Sign `user` in to an AppTest session (AppTest cannot send the browser's cookie)."""
    import ui
    from program import auth

    at.session_state[ui.TOKEN_KEY] = auth.start_signin(store, user)


def app_test(path: str, store: Store, user=None):  # type: ignore[no-untyped-def]
    """An AppTest of a page script, signed in as `user` if given, with ui's store cleared."""
    from streamlit.testing.v1 import AppTest

    import ui

    ui._store_at.cache_clear()
    # Pages are reached through the entry script, as in the browser, so sidebar links resolve.
    at = AppTest.from_file(str(ROOT / "home.py"), default_timeout=30)
    if path != "home.py":
        at.switch_page(path)
    if user is not None:
        signed_in(at, store, user)
    return at


def nodes(at: Any) -> Iterator[Any]:
    stack = [at._tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(getattr(node, "children", {}).values())


def rendered_bytes(at: Any) -> bytes:
    """Everything the page sent to the browser: every element's message, charts included."""
    return b"".join(
        n.proto.SerializeToString() for n in nodes(at) if getattr(n, "proto", None) is not None
    )


def store_calls(page: str) -> list[str]:
    """Every use of the page's store other than handing it to a function of program/: a call
    on it, or an attribute read (its path, its data version)."""
    tree = ast.parse((ROOT / page).read_text(encoding="utf-8"))
    return [
        f"{page}:{node.lineno} store.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in {"store", "_store"}
    ]

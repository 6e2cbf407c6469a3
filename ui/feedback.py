"""What a page says after an action: the one way a ProgramError is shown, and confirmations.

Every error a page shows goes through `show_error`, so errors look alike everywhere and text
someone typed inside one (a name, a curriculum line) is always shown literally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from program.errors import CurriculumError, ProgramError
from program.markup import plain


def show_error(exc: ProgramError) -> None:
    """A ProgramError as a readable message: its title, then what to do. A curriculum error lists
    every problem found (a curriculum file that has any is stored nowhere)."""
    if isinstance(exc, CurriculumError):
        problems = "\n".join(f"- {plain(str(p))}" for p in exc.problems)
        message = f"**{exc.title}: nothing was stored.** Fix these and try again.\n\n{problems}"
    else:
        message = f"**{exc.title}.** {plain(str(exc))}"
    st.error(message, icon=":material/error:")


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show a ProgramError raised inside the block as a readable message instead of a traceback."""
    try:
        yield
    except ProgramError as exc:
        show_error(exc)


def toast(message: str) -> None:
    """A confirmation, shown literally (it often names what someone typed)."""
    st.toast(plain(message), icon=":material/check_circle:")


def attempt(action: Callable[[], object], success: str) -> bool:
    """Run an action, show its success (as plain text) or its error; return whether it worked."""
    try:
        action()
    except ProgramError as exc:
        show_error(exc)
        return False
    toast(success)
    return True

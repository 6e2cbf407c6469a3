"""Every page refuses a guest, and opens for a role that may use it."""

from __future__ import annotations

import pytest

from tests.factories.pages import app_test
from tests.factories.paths import ROOT

PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))
STAFF_PAGES = PAGES  # every page is for staff; the participant's pulse is pulse_page.py


@pytest.mark.parametrize("path", ["home.py", *STAFF_PAGES])
def test_guest_sees_only_the_signin_screen(store, path):
    at = app_test(path, store)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]

"""Browser tests: a real server on a fresh demo database, driven by Debian's headless Chromium.

Run with `pytest -m browser tests/browser`. Playwright cannot download its own browsers here, so
the tests use /usr/bin/chromium and are skipped, saying so, when it is missing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.appserver import CHROMIUM, CHROMIUM_ARGS, Server, running, seed_demo
from tests.browser.steps import require_chromium


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    require_chromium()
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """A Streamlit server on a freshly seeded demo database; its URL. Stopped at the end."""
    require_chromium()
    with tempfile.TemporaryDirectory(prefix="browser-tests-") as tmp:
        database = Path(tmp) / "db.duckdb"
        seed_demo(database)
        with running(Server(database)) as server:
            yield server.url

"""Filling a test store: the bundled curriculum stored once parsed, the rounding draws of a
closed session pinned, and the system actor set-up acts as."""

from __future__ import annotations

import functools

from program.curriculum import load_curriculum_file
from program.library import save_bundle
from program.models import Actor, CurriculumBundle, CurriculumVersion
from program.store import Store
from tests.factories.paths import BUNDLED

SYSTEM = Actor.system()
# A rounding draw just under a half: a released mean is then the grid point nearest the true
# mean, halves up, so a test can state it by hand (program/privacy.py rounds up when draw < f).
NEAREST_DRAW = 0.4999


@functools.cache
def _bundled() -> CurriculumBundle:
    return load_curriculum_file(BUNDLED)


def load_bundled(store: Store) -> CurriculumVersion:
    """Store the bundled curriculum, as library.load_curriculum does, parsing the file only once
    per test run (it takes most of a second)."""
    version, _ = save_bundle(
        store, Actor.system(), _bundled(), BUNDLED.name, BUNDLED.read_text(encoding="utf-8")
    )
    return version


def pin_draws(store: Store, session_id: int, draw: float = NEAREST_DRAW) -> None:
    """Set the rounding draw of every cell of a closed session, which the store drew at random
    when the pulse closed, so a test knows which way its released means round."""
    cur = store.cursor()
    try:
        cur.execute(
            "UPDATE cell_summaries SET rounding_draw = ? WHERE session_id = ?", [draw, session_id]
        )
    finally:
        cur.close()

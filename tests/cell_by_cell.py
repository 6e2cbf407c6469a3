"""The cell-by-cell release, kept as the oracle the dashboards' column path is checked against.

Pages and views read cells as columns (`program.cells`). Here the same cells are read one object
at a time, straight from the store's pulse states and cell summaries, and released by
`privacy.release_cells`: two ways to the same figures, written independently, so a test that
finds them equal checks each against the other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from program.models import Cohort, CurriculumBundle
from program.privacy import CellState, Release, StoredCell, release_cells
from program.store import Store


def stored_cells(
    store: Store, cohorts: Sequence[Cohort], bundles: dict[int, CurriculumBundle]
) -> list[StoredCell]:
    """Every cell of these cohorts' pulses: one per session × scheduled measure."""
    ids = [c.id for c in cohorts]
    version_of = {c.id: c.curriculum_version_id for c in cohorts}
    sums = {
        (r.session_id, r.instrument_id): (r.n, r.total, r.draw) for r in store.cell_summaries(ids)
    }
    nothing = (0, 0.0, math.nan)  # a closed cell nobody answered, never released
    cells = []
    for pulse in store.pulse_states(ids):
        curriculum = bundles[version_of[pulse.cohort_id]].curriculum
        for measure in curriculum.instruments_at(pulse.session_number):
            n, total, draw = sums.get((pulse.session_id, measure), nothing)
            cells.append(
                StoredCell(
                    cohort_id=pulse.cohort_id,
                    session_id=pulse.session_id,
                    session_number=pulse.session_number,
                    measure=measure,
                    state=CellState.CLOSED if pulse.closed else CellState.OPEN,
                    n=int(n),
                    total=float(total),
                    draw=math.nan if draw is None else float(draw),
                )
            )
    return cells


def cohort_release(store: Store, cohort_id: int) -> Release:
    """One cohort's cells released one by one, under its program's k."""
    cohort = store.cohort(cohort_id)
    bundle = store.curriculum_bundle(cohort.curriculum_version_id)
    k = store.program(cohort.program_id).min_group_size
    scales = {i.id: i.score_range for i in bundle.instruments.values()}
    cells = stored_cells(store, [cohort], {cohort.curriculum_version_id: bundle})
    return release_cells(cells, k, scales)

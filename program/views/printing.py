"""The printed guide at /print/guide: which guide a keyed link opens, ready to print.

A guide's link carries a key made with the app's secret by the runner or the library
(printing.guide_link): the key is the access check, so the link opens for whoever it was given
to, and shows curriculum text only (plus, for a cohort's link, the cohort's name and the date).
"""

from __future__ import annotations

import hmac

from program import printing
from program.store import Store


def printed_guide(
    store: Store,
    secret: bytes,
    version_id: int,
    number: int,
    cohort_id: int | None,
    key: str,
) -> str | None:
    """The guide's print-ready HTML, or None when the key does not match the link or the link
    names a session or cohort that does not go with the curriculum version."""
    wanted = printing.guide_key(secret, version_id, number, cohort_id)
    if not hmac.compare_digest(wanted, key):
        return None
    bundle = store.curriculum_bundle(version_id)
    c = bundle.curriculum
    if number not in {s.number for s in c.sessions}:
        return None
    context = f"{c.title}, version {c.version}"
    if cohort_id is not None:
        cohort = store.cohort(cohort_id)
        if cohort.curriculum_version_id != version_id:
            return None
        when = next(
            (s.scheduled_date for s in store.sessions(cohort_id) if s.number == number), None
        )
        context += f" · {cohort.name}" + (f" · {when:%A %d %B %Y}" if when else "")
    return printing.guide_page(bundle, number, context, toolbar=printing.PRINT_TIP)

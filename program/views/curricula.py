"""The curriculum library: the stored versions, one version's guides, and a version's source file.

Every staff role may read the library; which cohorts use a version is named only to those who may
see them (library.library_versions).
"""

from __future__ import annotations

from program import access, library
from program.models import CurriculumBundle, Role, StaffUser
from program.store import Store
from program.store.curricula import CurriculumSource

STAFF = (Role.FACILITATOR, Role.LEAD, Role.ADMIN)


def versions(store: Store, viewer: StaffUser) -> tuple[library.LibraryEntry, ...]:
    """Every stored version, newest first, with the cohorts the viewer may see using it."""
    access.require_role(viewer, *STAFF)
    return tuple(library.library_versions(store, viewer))


def curriculum(store: Store, viewer: StaffUser, version_id: int) -> CurriculumBundle:
    """One version's curriculum and instruments, for its guides."""
    access.require_role(viewer, *STAFF)
    return store.curriculum_bundle(version_id)


def source(store: Store, viewer: StaffUser, version_id: int) -> CurriculumSource:
    access.require_role(viewer, *STAFF)
    return store.curriculum_source(version_id)

"""The curriculum library: the stored versions, one version's guides, and a version's source file.

Every staff role may read the library; which cohorts use a version is named only to those who may
see them (library.library_versions).
"""

from __future__ import annotations

from typing import NamedTuple

from program import access, library
from program.models import CurriculumBundle, Role, StaffUser
from program.store import Store

STAFF = (Role.FACILITATOR, Role.LEAD, Role.ADMIN)


class CurriculumSource(NamedTuple):
    """A version's YAML file exactly as it was loaded, and the name it was loaded under."""

    name: str
    text: str


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
    return CurriculumSource(*store.curriculum_source(version_id))

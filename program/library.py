"""The curriculum library: validate curriculum files and store them as pinned versions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePath

from program import access
from program.curriculum import content_hash, load_curriculum_file, load_curriculum_text
from program.errors import CurriculumError, Problem
from program.models import Actor, CurriculumBundle, CurriculumVersion, Instrument, StaffUser
from program.store import Store
from program.store.curricula import SavedVersion

# A curriculum of many sessions is a few hundred kilobytes; anything far larger is a wrong file.
MAX_UPLOAD_BYTES = 1_000_000
UPLOAD_SUFFIXES = (".yaml", ".yml")


def instrument_hash(instrument: Instrument) -> str:
    canonical = json.dumps(instrument.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def save_bundle(
    store: Store, actor: Actor, bundle: CurriculumBundle, source_name: str, source_text: str
) -> SavedVersion:
    """Store a validated curriculum. The same content twice is one version (returns created=False)."""
    hashes = {k: instrument_hash(v) for k, v in bundle.instruments.items()}
    return store.save_curriculum_version(
        actor, bundle, content_hash(bundle), hashes, source_name, source_text
    )


def load_curriculum(
    store: Store, actor: Actor, path: Path, instruments_dir: Path | None = None
) -> SavedVersion:
    """Validate a curriculum file and store it; raises CurriculumError and stores nothing if bad."""
    bundle = load_curriculum_file(path, instruments_dir)
    return save_bundle(store, actor, bundle, path.name, path.read_text(encoding="utf-8"))


def upload_curriculum(
    store: Store, actor: Actor, name: str, text: str, instruments_dir: Path
) -> SavedVersion:
    """Validate uploaded curriculum text and store it; raises CurriculumError if bad."""
    bundle = load_curriculum_text(text, name, instruments_dir)
    return save_bundle(store, actor, bundle, name, text)


def upload_curriculum_file(
    store: Store, actor: Actor, name: str, data: bytes, instruments_dir: Path
) -> SavedVersion:
    """Validate an uploaded curriculum file (name and raw bytes) and store it.

    Raises CurriculumError, storing nothing, when the file is not a UTF-8 YAML curriculum.
    Returns the version and whether it is new (False: the same content was already stored).
    """
    name = PurePath(name.replace("\\", "/")).name or "upload.yaml"  # browsers may send a path
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise CurriculumError(
            [Problem(name, 1, "", "a curriculum must be a YAML file ending in .yaml or .yml")]
        )
    if len(data) > MAX_UPLOAD_BYTES:
        raise CurriculumError(
            [
                Problem(
                    name,
                    1,
                    "",
                    f"the file is {len(data) / 1_000_000:.1f} MB; a curriculum file must be"
                    f" under {MAX_UPLOAD_BYTES / 1_000_000:.0f} MB",
                )
            ]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CurriculumError(
            [
                Problem(
                    name, line, "", "the file is not UTF-8 text; save it as UTF-8 and upload again"
                )
            ]
        ) from exc
    return upload_curriculum(store, actor, name, text, instruments_dir)


@dataclass(frozen=True)
class LibraryEntry:
    """A stored curriculum version and the cohorts pinned to it."""

    version: CurriculumVersion
    cohorts: list[str]


def library_versions(store: Store, viewer: StaffUser) -> list[LibraryEntry]:
    """Every stored curriculum version, newest first, with the cohorts using it.

    Every staff role may read the library, but a cohort is named only to those who may see it
    (facilitators never see other facilitators' cohorts: docs/design.md, "Who uses it"); the rest
    are counted.
    """
    visible = {c.id for c in access.visible_cohorts(store, viewer)}
    usage: dict[int, list[str]] = {}
    hidden: dict[int, int] = {}
    for cohort in store.cohorts():
        version = cohort.curriculum_version_id
        if cohort.id in visible:
            usage.setdefault(version, []).append(cohort.name)
        else:
            hidden[version] = hidden.get(version, 0) + 1
    for names in usage.values():
        names.sort()
    for version, count in hidden.items():
        usage.setdefault(version, []).append(f"{count} other cohort{'s' if count > 1 else ''}")
    versions = sorted(store.curriculum_versions(), key=lambda v: (v.loaded_at, v.id), reverse=True)
    return [LibraryEntry(v, usage.get(v.id, [])) for v in versions]

"""Curriculum versions and the instruments they were loaded with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from program.errors import NotFound
from program.models import (
    Actor,
    CurriculumBundle,
    CurriculumVersion,
)
from program.store.base import StoreBase
from program.store.engines import Cursor


class SavedVersion(NamedTuple):
    """A stored curriculum version, and whether storing it made it (False: it was there)."""

    version: CurriculumVersion
    created: bool


class CurriculumSource(NamedTuple):
    """A version's YAML file exactly as it was loaded, and the name it was loaded under."""

    name: str
    text: str


class CurriculumQueries(StoreBase):
    # ----------------------------------------------------------------------- curricula

    _VERSION = (
        "SELECT id, curriculum_id, version, title, content_hash, source_name, loaded_at"
        " FROM curriculum_versions"
    )
    _VERSION_FIELDS = _VERSION.removeprefix("SELECT ").split(" FROM ")[0].split(", ")

    @classmethod
    def _version(cls, row: Sequence[object]) -> CurriculumVersion:
        return CurriculumVersion.model_validate(dict(zip(cls._VERSION_FIELDS, row, strict=True)))

    def save_curriculum_version(
        self,
        actor: Actor,
        bundle: CurriculumBundle,
        content_hash: str,
        instrument_hashes: dict[str, str],
        source_name: str,
        source_text: str,
    ) -> SavedVersion:
        """Store a validated curriculum; the same content again returns the existing version."""

        def unit(cur: Cursor) -> SavedVersion:
            row = cur.execute(f"{self._VERSION} WHERE content_hash = ?", [content_hash]).fetchone()
            if row:
                return SavedVersion(self._version(row), created=False)
            c = bundle.curriculum
            row = cur.execute(
                "INSERT INTO curriculum_versions (curriculum_id, version, title, content_hash,"
                " source_name, source_text, body, loaded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id, curriculum_id, version, title, content_hash, source_name, loaded_at",
                [
                    c.id,
                    c.version,
                    c.title,
                    content_hash,
                    source_name,
                    source_text,
                    bundle.model_dump_json(),
                    actor.user_id,
                ],
            ).fetchone()
            assert row is not None
            version = self._version(row)
            for instrument_id, digest in sorted(instrument_hashes.items()):
                instrument = bundle.instruments[instrument_id]
                found = cur.execute(
                    "SELECT id FROM instruments WHERE content_hash = ?", [digest]
                ).fetchone()
                if found is None:
                    found = cur.execute(
                        "INSERT INTO instruments (instrument_id, version, content_hash, body)"
                        " VALUES (?, ?, ?, ?) RETURNING id",
                        [instrument.id, instrument.version, digest, instrument.model_dump_json()],
                    ).fetchone()
                assert found is not None
                cur.execute(
                    "INSERT INTO curriculum_instruments VALUES (?, ?)", [version.id, found[0]]
                )
            self._audit(
                cur,
                actor,
                "load curriculum",
                "curriculum_version",
                version.id,
                f"{c.id} {c.version} {content_hash[:12]}",
            )
            return SavedVersion(version, created=True)

        return self.write(unit)

    def curriculum_versions(self) -> list[CurriculumVersion]:
        return [self._version(r) for r in self._rows(f"{self._VERSION} ORDER BY curriculum_id, id")]

    def curriculum_version(self, version_id: int) -> CurriculumVersion:
        row = self._one(f"{self._VERSION} WHERE id = ?", [version_id])
        if row is None:
            raise NotFound(f"No curriculum version with id {version_id}.")
        return self._version(row)

    def curriculum_bundle(self, version_id: int) -> CurriculumBundle:
        row = self._one("SELECT content_hash FROM curriculum_versions WHERE id = ?", [version_id])
        if row is None:
            raise NotFound(f"No curriculum version with id {version_id}.")
        return self.bundle_by_hash(version_id, row[0])

    def bundle_by_hash(self, version_id: int, content_hash: str) -> CurriculumBundle:
        """A version's bundle, parsed once per process: a version never changes, and its content
        hash names exactly what it holds (a restore that brings other content under the same id
        brings another hash). The participant page asks for it on every visit."""
        cache: dict[tuple[int, str], CurriculumBundle] = self.__dict__.setdefault("_bundles", {})
        found = cache.get((version_id, content_hash))
        if found is None:
            row = self._one(
                "SELECT body FROM curriculum_versions WHERE id = ? AND content_hash = ?",
                [version_id, content_hash],
            )
            if row is None:
                raise NotFound(f"No curriculum version with id {version_id}.")
            found = cache[(version_id, content_hash)] = CurriculumBundle.model_validate_json(row[0])
        return found

    def curriculum_source(self, version_id: int) -> CurriculumSource:
        """The file name and text of a version exactly as it was loaded."""
        row = self._one(
            "SELECT source_name, source_text FROM curriculum_versions WHERE id = ?", [version_id]
        )
        if row is None:
            raise NotFound(f"No curriculum version with id {version_id}.")
        return CurriculumSource(row[0], row[1])

    def curriculum_usage(self) -> dict[int, list[str]]:
        """Names of the cohorts pinned to each curriculum version, by version id, oldest first."""
        rows = self._rows(
            "SELECT curriculum_version_id, name FROM cohorts ORDER BY start_date, name, id"
        )
        usage: dict[int, list[str]] = {}
        for version_id, name in rows:
            usage.setdefault(int(version_id), []).append(name)
        return usage

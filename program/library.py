"""The curriculum library: validate curriculum files and store them as pinned versions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from program.curriculum import content_hash, load_curriculum_file, load_curriculum_text
from program.models import Actor, CurriculumBundle, CurriculumVersion, Instrument
from program.store import Store


def instrument_hash(instrument: Instrument) -> str:
    canonical = json.dumps(instrument.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def save_bundle(
    store: Store, actor: Actor, bundle: CurriculumBundle, source_name: str, source_text: str
) -> tuple[CurriculumVersion, bool]:
    """Store a validated curriculum. The same content twice is one version (returns created=False)."""
    hashes = {k: instrument_hash(v) for k, v in bundle.instruments.items()}
    return store.save_curriculum_version(
        actor, bundle, content_hash(bundle), hashes, source_name, source_text
    )


def load_curriculum(
    store: Store, actor: Actor, path: Path, instruments_dir: Path | None = None
) -> tuple[CurriculumVersion, bool]:
    """Validate a curriculum file and store it; raises CurriculumError and stores nothing if bad."""
    bundle = load_curriculum_file(path, instruments_dir)
    return save_bundle(store, actor, bundle, path.name, path.read_text(encoding="utf-8"))


def upload_curriculum(
    store: Store, actor: Actor, name: str, text: str, instruments_dir: Path
) -> tuple[CurriculumVersion, bool]:
    """Validate uploaded curriculum text and store it; raises CurriculumError if bad."""
    bundle = load_curriculum_text(text, name, instruments_dir)
    return save_bundle(store, actor, bundle, name, text)

"""The repository's folders the tests read: its root, the curricula and instruments, and the
bundled curriculum file."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CURRICULA = ROOT / "curricula"
INSTRUMENTS = CURRICULA / "instruments"
BUNDLED = CURRICULA / "collective-healing.yaml"

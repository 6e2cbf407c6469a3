"""The published JSON Schemas match the models, and the bundled files say where theirs is."""

from program.curriculum import bundled_files, json_schemas
from tests.factories.paths import CURRICULA, ROOT


def test_checked_in_schemas_are_current():
    for name, text in json_schemas().items():
        checked_in = (ROOT / "schemas" / name).read_text(encoding="utf-8")
        assert checked_in == text, f"schemas/{name} is stale: run `python -m program write-schemas`"


def test_bundled_files_point_editors_at_their_schema():
    for path in bundled_files(CURRICULA):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        kind = "instrument" if path.parent.name == "instruments" else "curriculum"
        assert first.startswith("# yaml-language-server: $schema="), path.name
        assert first.endswith(f"schemas/{kind}.schema.json"), path.name

"""Texts that would fetch an image, follow a link or draw HTML if a page read them as Markdown
(`COHORT`, `MEMBER`, `TITLE`, `NOTES` and the rest, all in `HOSTILE`), and a curriculum version
carrying them in its session titles, notes and instrument wording (`hostile_version`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from program import library
from program.models import CurriculumVersion
from program.store import Store
from tests.factories.paths import BUNDLED, INSTRUMENTS
from tests.factories.stores import SYSTEM, load_bundled

COHORT = "![x](http://evil.test/x.png)"
MEMBER = "[click](javascript:alert(1))"
TITLE = "Arriving ![p](http://evil.test/px.png)"
PROGRAM = "Northside <img src=http://evil.test/p.png> [site](http://evil.test)"
STAFF_NAME = "Maya ![m](http://evil.test/m.png)"
NOTES = (
    "**Say** hello. ![i](http://evil.test/i.png) See [the sheet](https://evil.test/sheet) or"
    " <https://evil.test/auto>, www.evil.test and help@evil.test.\n\n> A quote stays a quote."
)
ITEM = "I have felt ![q](http://evil.test/q.png) cheerful"
SCALE_LABEL = "All of the [time](http://evil.test/t)"
INSTRUMENT_TITLE = "WHO-5 ![w](http://evil.test/w.png)"
RECALL = "Over the last [two weeks](http://evil.test/r)"
HOSTILE = (COHORT, MEMBER, TITLE, PROGRAM, STAFF_NAME, ITEM, SCALE_LABEL, INSTRUMENT_TITLE, RECALL)


def hostile_version(store: Store) -> CurriculumVersion:
    """The bundled curriculum with a remote image in session 1's title and notes, and an
    instrument whose title, recall, item and scale label carry images and links."""
    load_bundled(store)
    folder = Path(store.path).parent / "instruments"
    folder.mkdir(exist_ok=True)
    for source in INSTRUMENTS.glob("*.yaml"):
        doc = yaml.safe_load(source.read_text(encoding="utf-8"))
        if doc["id"] == "who5":
            doc["version"] = "hostile"
            doc["title"], doc["recall"] = INSTRUMENT_TITLE, RECALL
            doc["items"][0]["text"] = ITEM
            doc["scale"]["labels"][5] = SCALE_LABEL
        (folder / source.name).write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    doc = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    doc["version"] = "hostile"
    (session,) = [s for s in doc["sessions"] if s["number"] == 1]
    session["title"] = TITLE
    session["agenda"][0]["notes"] = NOTES
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    version, created = library.upload_curriculum(store, SYSTEM, "hostile.yaml", text, folder)
    assert created
    return version

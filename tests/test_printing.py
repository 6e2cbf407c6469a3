"""Printed pages: a session guide and the card sheet, as print-ready HTML and as PDF.

The PDFs are made by WeasyPrint from the same HTML the browser prints; their pages are read from
WeasyPrint's own layout, so a page count here is the count on paper.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx`")
    from starlette.testclient import TestClient

import routes
import ui
from headers import SecurityHeaders
from program import auth, cards, i18n, printing, pulse
from program.curriculum import load_curriculum_file
from program.models import CurriculumBundle
from program.settings import get_settings
from program.store import Store
from tests.factories.paths import ROOT
from tests.factories.stores import load_bundled

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

APP = Starlette(routes=routes.ROUTES, middleware=[Middleware(SecurityHeaders)])


@pytest.fixture(scope="module")
def bundle() -> CurriculumBundle:
    return load_curriculum_file(ROOT / "curricula" / "collective-healing.yaml")


def page_texts(html: str) -> list[str]:
    """The text on each printed page, as WeasyPrint lays it out."""
    weasyprint = pytest.importorskip("weasyprint")
    texts = []
    for page in weasyprint.HTML(string=html).render().pages:
        words = [getattr(box, "text", "") for box in page._page_box.descendants()]
        texts.append(" ".join(w for w in words if w))
    return texts


# --------------------------------------------------------------------------- the guide


@pytest.mark.parametrize("number", [0, 1, 6])
def test_a_guide_prints_the_safety_steps_first_without_the_app_around_it(
    bundle: CurriculumBundle, number: int
) -> None:
    html = printing.guide_page(bundle, number, "Collective healing · Group A", toolbar="tip")
    pages = page_texts(html)
    # Page 1: the title and the safety box, with the crisis steps.
    assert printing.SAFETY_TITLE in pages[0]
    assert pages[0].index(printing.SAFETY_TITLE) < pages[0].index("The agenda at a glance")
    if number:
        assert "If someone is in crisis" in pages[0]
    # The detail and home practice start pages of their own; nothing of the app is printed.
    assert any(p.lstrip().startswith("The agenda in detail") for p in pages[1:])
    assert any(p.lstrip().startswith("Home practice") for p in pages[1:])
    assert not any(printing.PRINT_TIP in p or "Curriculum library" in p for p in pages)
    assert 4 <= len(pages) <= 8, len(pages)
    assert all(f"page {i} of {len(pages)}" in p for i, p in enumerate(pages, 1))
    # On screen, a Print button (hidden in print) and the dialog opens by itself.
    assert 'class="toolbar noprint"' in html and "window.print()" in html


def test_curriculum_text_cannot_add_markup_images_or_links_to_a_printed_guide(
    bundle: CurriculumBundle,
) -> None:
    session = bundle.curriculum.session(1)
    hostile = session.model_copy(
        update={
            "safety_notes": "<script>alert(1)</script> ![x](http://evil.test/x.png)"
            " [call](http://evil.test) <img src=http://evil.test/y.png>",
            "title": "<b>Bold</b> title",
        }
    )
    sessions = [hostile if s.number == 1 else s for s in bundle.curriculum.sessions]
    curriculum = bundle.curriculum.model_copy(update={"sessions": sessions})
    html = printing.guide_page(bundle.model_copy(update={"curriculum": curriculum}), 1, "x")
    assert "<script>alert" not in html and "<img" not in html and 'href="http' not in html
    assert 'src="http' not in html
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html


# --------------------------------------------------------------------------- the card sheet


@pytest.mark.parametrize(("count", "pages"), [(1, 2), (8, 2), (9, 3), (13, 3), (17, 4)])
def test_cards_print_eight_to_a_page_then_one_paper_form(
    bundle: CurriculumBundle, count: int, pages: int
) -> None:
    codes = [pulse.new_card_code() for _ in range(count)]
    links = [(c, pulse.join_link("https://example.org", c)) for c in codes]
    html = cards.card_sheet("Session 1", links, bundle.pulse_items(1), 5)
    printed = page_texts(html)
    assert len(printed) == pages == cards.sheet_pages(count)
    for index, page in enumerate(printed[:-1]):
        on_page = codes[index * 8 : index * 8 + 8]
        assert [c for c in codes if pulse.format_code(c) in page] == on_page
    assert printed[-1].lstrip().startswith("Paper answers")
    assert html.count('class="cut ') == 4 * count  # cut marks at each card's corners
    assert html.count("<svg") == count
    # Every question of the pulse on the paper form, each with a box per point.
    items = bundle.pulse_items(1)
    assert html.count('class="tick"') == sum(len(i.scale.points) for i, _ in items)
    assert ".box .tick{display:block;width:9mm;height:9mm" in html


def test_the_paper_form_asks_in_the_sheets_language(bundle: CurriculumBundle) -> None:
    spanish = i18n.languages()["es"]
    html = cards.card_sheet(
        "Sesión 1",
        [("ABCDEFGHJ", "https://example.org/pulse?code=X")],
        bundle.pulse_items(1),
        5,
        spanish,
    )
    assert "Respuestas en papel" in html and "Me identifico con este grupo" in html
    assert '<table class="matrix" lang="en">' in html  # the WHO-5, in English


def test_the_shelf_forgets_sheets_after_their_time_and_beyond_its_size() -> None:
    shelf = printing.SheetShelf(hours=1, limit=2)
    now = dt.datetime(2026, 11, 27, 19)
    first = shelf.put("one", now)
    assert shelf.get(first, now + dt.timedelta(minutes=59)) == "one"
    assert shelf.get(first, now + dt.timedelta(minutes=61)) is None
    a, b, c = (shelf.put(x, now) for x in "abc")
    assert shelf.get(a, now) is None and shelf.get(c, now) == "c"
    assert shelf.get("made-up", now) is None


# --------------------------------------------------------------------------- the routes


@pytest.fixture
def http(settings_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Store]]:
    store = Store(settings_env)
    load_bundled(store)
    monkeypatch.setattr(ui, "store", lambda: store)
    monkeypatch.setattr(ui, "settings", get_settings)
    with TestClient(APP, follow_redirects=False) as client:
        yield client, store
    store.close()


def test_a_guide_link_opens_with_its_key_only(http: tuple[TestClient, Store]) -> None:
    client, store = http
    (version,) = store.curriculum_versions()
    secret = auth.session_secret(get_settings())
    link = printing.guide_link(secret, version.id, 2)
    page = client.get(link)
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    assert printing.SAFETY_TITLE in page.text and "Content-Security-Policy" in page.headers
    for wrong in (
        link.replace("session=2", "session=3"),
        re.sub(r"key=\w+", "key=" + "0" * 32, link),
        link + "&cohort=1",
        f"/print/guide?version={version.id}&session=99"
        f"&key={printing.guide_key(secret, version.id, 99, None)}",
    ):
        assert client.get(wrong).status_code == 403, wrong
    document = client.get(printing.guide_link(secret, version.id, 2, pdf=True))
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF")
    assert 'filename="guide-session-2.pdf"' in document.headers["content-disposition"]


def test_a_card_sheet_prints_from_its_token_until_it_is_forgotten(
    http: tuple[TestClient, Store],
) -> None:
    client, _ = http
    token = printing.SHEETS.put("<!doctype html><p>cards</p>", dt.datetime.now())
    assert client.get(printing.cards_link(token)).text.endswith("<p>cards</p>")
    document = client.get(printing.cards_link(token, pdf=True))
    assert document.content.startswith(b"%PDF")
    assert client.get(printing.cards_link("not-a-token")).status_code == 404


def test_a_report_prints_from_its_token_and_only_from_it(http: tuple[TestClient, Store]) -> None:
    client, _ = http
    token = printing.SHEETS.put("<!doctype html><p>report</p>", dt.datetime.now())
    page = client.get(printing.report_link(token))
    assert page.status_code == 200 and page.text.endswith("<p>report</p>")
    assert "no-store" in page.headers["cache-control"]
    document = client.get(printing.report_link(token, pdf=True))
    assert document.content.startswith(b"%PDF")
    assert 'filename="report.pdf"' in document.headers["content-disposition"]
    missing = client.get(printing.report_link("not-a-token"))
    assert missing.status_code == 404 and "Make it again from the dashboard" in missing.text

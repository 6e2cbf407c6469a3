"""The participant's pulse in other languages: choosing one, the catalogs, instruments' translations.

The page is driven over HTTP as in test_participant_page (Starlette's TestClient on each test's own
temporary database, read as a browser without scripts). Spanish is the shipped translation; the
right-to-left stand-in (ar-XB) is built from the English when PROGRAM_PSEUDO_LANGUAGES is on.
"""

from __future__ import annotations

import re
import string
import subprocess
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from starlette.testclient import TestClient

import projector
from program import cards, i18n, participant, pulse
from program.curriculum import load_instrument
from program.errors import CurriculumError
from program.i18n import Language
from program.store import Store
from tests.factories import pulse_page as on_the_page
from tests.factories.pages import app_test
from tests.factories.paths import ROOT
from tests.factories.pulse_page import Page, choose, now, read, send, visit
from tests.factories.pulses import Group

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

# The participant page's fixtures: each test has its own database, a group and a client.
template = on_the_page.template
store = on_the_page.store
group = on_the_page.group
http = on_the_page.http
fresh_memory = on_the_page.fresh_memory

SPANISH = {"accept-language": "es-MX,es;q=0.9,en;q=0.8"}
OFFERED = i18n.languages()
ES = OFFERED["es"]
EN = OFFERED["en"]


def in_language(http: TestClient, code: str | None, lang: str, **kwargs: Any) -> Page:
    """The page as its language switch (or a card's link) asks for it."""
    params = {"lang": lang, **({"code": code} if code else {})}
    return read(http.get("/pulse", params=params, **kwargs))


# --------------------------------------------------------------------------- choosing a language


@pytest.mark.parametrize(
    ("asked", "header", "chosen"),
    [
        (None, None, "en"),
        (None, "es-MX,es;q=0.9,en;q=0.8", "es"),
        (None, "ES", "es"),
        (None, "fr-CA, de;q=0.8", "en"),  # nothing offered: the code's own language
        (None, "fr;q=0.9, es;q=0.5", "es"),  # the first one offered, by preference
        (None, "en;q=0.2, es", "es"),  # quality, not order, decides
        (None, "es;q=0, en", "en"),  # q=0 means "not this one"
        (None, "*", "en"),
        (None, "es;q=abc, en;q=0.5", "en"),  # a malformed quality counts as zero
        (None, "<script>, es", "es"),  # a malformed tag is passed over
        ("es", "en", "es"),  # the link's choice wins over the browser's
        ("EN", "es", "en"),
        ("xx", "es", "es"),  # a language not offered is no choice at all
        ("es-AR", None, "es"),
    ],
)
def test_the_language_is_the_links_choice_else_the_browsers_else_english(
    asked: str | None, header: str | None, chosen: str
) -> None:
    assert i18n.choose(asked, header, OFFERED).code == chosen


def test_each_language_knows_its_own_name_and_direction() -> None:
    assert (ES.name, ES.direction) == ("Español", "ltr")
    assert (EN.name, EN.direction) == ("English", "ltr")
    pseudo = i18n.languages(pseudo=True)[i18n.PSEUDO_RTL]
    assert pseudo.direction == "rtl"
    assert ES.name_of("en") == "inglés"
    assert i18n.PSEUDO_RTL not in OFFERED  # only for testing


# --------------------------------------------------------------------------- the catalogs


def _catalogs() -> list[Path]:
    found = sorted((ROOT / "locale").glob("*/LC_MESSAGES/messages.po"))
    assert found, "no catalog"
    return found


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


@pytest.mark.parametrize("po", _catalogs(), ids=lambda p: p.parent.parent.name)
def test_every_sentence_is_translated_with_the_same_placeholders(po: Path) -> None:
    template = i18n.read_catalog(ROOT / "locale" / "messages.pot")
    catalog = i18n.read_catalog(po)
    wanted = {m.id for m in template if m.id}
    have = {m.id: m for m in catalog if m.id}
    assert wanted <= set(have), f"untranslated: {sorted(map(str, wanted - set(have)))}"
    plurals = catalog.num_plurals
    for msgid in wanted:
        message = have[msgid]
        assert not message.fuzzy, msgid
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"empty translation of {msgid!r}"
        if isinstance(msgid, tuple):
            assert len(strings) == plurals, msgid
        for translated in strings:
            # A placeholder renamed or dropped would break the sentence or hide a number (k).
            assert _fields(translated) <= _fields(ids[-1]) | _fields(ids[0]), translated
            assert _fields(ids[-1]) <= _fields(translated) | {"count"}, translated


def test_the_catalog_template_holds_every_marked_sentence_of_the_code(tmp_path: Path) -> None:
    """`make translations` run now would add nothing: no sentence is left out of the catalogs."""
    out = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(ROOT / ".venv/bin/pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-k",
            "Nn_:1,2",
            "--no-location",
            "-o",
            str(out),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    fresh = {m.id for m in i18n.read_catalog(out) if m.id}
    kept = {m.id for m in i18n.read_catalog(ROOT / "locale" / "messages.pot") if m.id}
    assert fresh == kept, (
        f"run `make translations`: new {sorted(map(str, fresh - kept))}, gone"
        f" {sorted(map(str, kept - fresh))}"
    )
    # Every refusal a participant can be told is in the catalogs, so none reaches them in English.
    assert fresh >= participant.REFUSALS


def test_the_stand_in_mirrors_every_sentence_and_keeps_its_placeholders() -> None:
    pseudo = i18n.languages(pseudo=True)[i18n.PSEUDO_RTL]
    said = pseudo.gettext(participant.PROMISE)
    assert said.startswith("\u202e") and "{k}" in said
    assert pseudo.ngettext(participant.QUESTIONS, 3).format(count=3).startswith("\u202e3 short")


# --------------------------------------------------------------------------- the page


def test_a_spanish_browser_gets_the_code_form_in_spanish_with_a_link_to_english(
    http: TestClient,
) -> None:
    page = visit(http, headers=SPANISH)
    assert page.h1 == ["Encuesta breve de hoy"]
    assert '<html lang="es" dir="ltr">' in page.html
    assert page.headers["content-language"] == "es"
    assert "accept-language" in page.headers["vary"].lower()
    assert "Escriba el código" in page.text and "Continuar" in page.text
    # The switch is a plain link, named in its own language, and the form keeps the choice.
    assert re.search(r'<a href="/pulse\?lang=en" lang="en" hreflang="en">English</a>', page.html)
    assert page.hidden() == {"lang": "es"}
    english = in_language(http, None, "en", headers=SPANISH)
    assert english.h1 == [participant.PAGE_TITLE] and '<html lang="en"' in english.html
    assert re.search(r'href="/pulse\?lang=es"[^>]*>Español<', english.html)


def test_the_questions_in_spanish_and_an_untranslated_instrument_in_its_own_language(
    http: TestClient, store: Store, group: Group
) -> None:
    code = group.open(at=now())
    page = visit(http, code, headers=SPANISH)
    invitation = pulse.resolve_code(store, code, now())
    assert page.h1 == ["Sesión 1: Nunca fue su culpa: dejar de culparse"]
    assert "9 preguntas cortas. Sáltese las que quiera." in page.text
    assert "Sus respuestas son anónimas" in page.text and "al menos 5 personas" in page.text
    assert "En general, ¿cuánto estrés ha sentido en la última semana?" in page.text
    assert "<b>0</b> Nada de estrés" in page.html
    assert page.text.count("Prefiero no decirlo") == 9
    # The WHO-5 has no official Spanish translation here: English, marked, with a note.
    assert '<h2 lang="en" dir="ltr">Over the last two weeks</h2>' in page.html
    assert (
        "Estas preguntas están en inglés: todavía no tienen una traducción revisada." in page.text
    )
    assert page.html.count('<span lang="en" dir="ltr">I have felt') == 3
    assert "All of the time" in page.text
    # The same form fields and scale points as in English: the language changes only words.
    english = visit(http, code)
    assert page.names == english.names == [pulse.answer_key(i, t) for i, t in invitation.items]
    for name in page.names:
        assert page.values(name) == english.values(name)
    # Switching keeps the code.
    assert f'href="/pulse?code={code}&amp;lang=en"' in page.html


def test_answers_sent_in_spanish_are_thanked_in_spanish_and_stored_like_any_other(
    http: TestClient, store: Store, group: Group
) -> None:
    code = group.open(at=now())
    page = visit(http, code, headers=SPANISH)
    assert page.hidden()["lang"] == "es"
    # The choice travels with the form, whatever the browser says on the way back.
    thanks = send(http, page, choose(page), headers={"accept-language": "en"})
    assert thanks.h1 == ["Gracias"]
    assert "Sus respuestas ya llegaron." in thanks.text
    assert "al menos 5 personas" in thanks.text
    (held,) = store.ballots.contents(group.session_id).responses
    assert set(held.answers) == {tuple(n.split("/")) for n in page.names}


def test_answers_in_two_languages_pool_into_the_same_cells_and_no_language_is_kept(
    http: TestClient, store: Store, group: Group
) -> None:
    code = group.open(at=now())
    langs = ["es", "en", "es", "en", "es", "es"]
    for lang in langs:
        page = in_language(http, code, lang)
        assert send(http, page, choose(page, pick="first")).status == 200
    # Nothing in the ballot file tells the languages apart.
    raw = store.ballots.path(group.session_id).read_bytes()
    assert b'"es"' not in raw and b"lang" not in raw
    pulse.close_pulse(store, group.facilitator, group.session_id, now())
    cells = [c for c in store.cell_summaries([group.cohort_id]) if c.session_id == group.session_id]
    assert len(cells) == 5 and {c.n for c in cells} == {len(langs)}
    # Nor anything in the database: no column or value names a language.
    columns = store._rows("SELECT column_name FROM duckdb_columns() WHERE NOT internal")
    assert not [c for (c,) in columns if "lang" in c.lower()]


def test_a_refusal_is_said_in_the_participants_language(
    http: TestClient, store: Store, group: Group
) -> None:
    page = visit(http, "HJKM-NPQR", headers=SPANISH)
    assert page.problem.startswith("Ese código no lleva a ninguna encuesta abierta.")
    code = group.open(at=now())
    page = visit(http, code, headers=SPANISH)
    pulse.close_pulse(store, group.facilitator, group.session_id, now())
    closed = send(http, page, choose(page))
    assert closed.h1 == ["Esta encuesta se ha cerrado"]
    # A refusal the catalogs do not know is never passed on as it is, in English.
    assert participant.refusal("Internal: table locked") == participant.SOMETHING_WENT_WRONG_SENDING


def test_the_stand_in_language_sets_the_page_right_to_left(
    http: TestClient, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROGRAM_PSEUDO_LANGUAGES", "1")
    from program.settings import get_settings

    get_settings.cache_clear()
    try:
        page = in_language(http, group.open(at=now()), i18n.PSEUDO_RTL)
    finally:
        monkeypatch.delenv("PROGRAM_PSEUDO_LANGUAGES")
        get_settings.cache_clear()
    assert f'<html lang="{i18n.PSEUDO_RTL}" dir="rtl">' in page.html
    assert "\u202e" in page.text
    # The instruments have no such translation: their words stay left to right, marked.
    assert '<h2 lang="en" dir="ltr">Today</h2>' in page.html


# --------------------------------------------------------------------------- instrument files


WHO5 = ROOT / "curricula" / "instruments" / "who5.yaml"
STRESS = ROOT / "curricula" / "instruments" / "stress.yaml"


def _problems(path: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(CurriculumError) as caught:
        load_instrument(path)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def _line(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


def test_a_translation_missing_an_item_or_a_scale_point_is_refused_by_file_line_and_field(
    tmp_path: Path,
) -> None:
    text = STRESS.read_text(encoding="utf-8")
    text = text.replace("      5: Estrés moderado\n", "").replace(
        "      stress_week:", "      stress_weak:"
    )
    path = tmp_path / "stress.yaml"
    path.write_text(text, encoding="utf-8")
    problems = _problems(path)
    assert (
        _line(text, "    scale:"),
        "translations.es.scale",
        "misses the scale points 5",
    ) in problems
    assert (_line(text, "    items:"), "translations.es.items", "misses the items stress_week") in (
        problems
    )
    weak = next(i for i, line in enumerate(text.splitlines(), 1) if "stress_weak" in line)
    assert (
        weak,
        "translations.es.items.stress_weak",
        "'stress_weak' is no item of the instrument",
    ) in (problems)
    with pytest.raises(CurriculumError) as caught:
        load_instrument(path)
    assert "stress.yaml" in str(caught.value)


def test_a_validated_instruments_translation_must_name_its_source(tmp_path: Path) -> None:
    text = WHO5.read_text(encoding="utf-8") + (
        "translations:\n"
        "  es:\n"
        "    title: Índice\n"
        "    recall: Últimas dos semanas\n"
        "    instructions: Por favor\n"
        "    scale: {5: a, 4: b, 3: c, 2: d, 1: e, 0: f}\n"
        "    items: {cheerful: a, calm: b, active: c, rested: d, interest: e}\n"
    )
    path = tmp_path / "who5.yaml"
    path.write_text(text, encoding="utf-8")
    ((line, field, message),) = _problems(path)
    assert (line, field) == (_line(text, "  es:"), "translations.es.source")
    assert "validated" in message and "official translation" in message
    # Naming it is enough for the file to load; the same translation then has its words.
    path.write_text(
        text.replace("    title: Índice\n", "    source: Official\n    title: Índice\n")
    )
    words = load_instrument(path).wording("es-MX")
    assert words is not None and words.items["calm"] == "b" and words.labels[0] == "f"


def test_instructions_are_translated_when_the_instrument_has_them(tmp_path: Path) -> None:
    text = STRESS.read_text(encoding="utf-8").replace(
        "recall: In the past seven days\n",
        "recall: In the past seven days\ninstructions: Pick one.\n",
    )
    path = tmp_path / "stress.yaml"
    path.write_text(text, encoding="utf-8")
    ((_, field, message),) = _problems(path)
    assert field == "translations.es.instructions" and "translate them" in message


def test_the_bundled_instruments_are_in_spanish_except_the_who5() -> None:
    folder = ROOT / "curricula" / "instruments"
    for name in ("connection", "self-kindness", "stress", "usefulness"):
        instrument = load_instrument(folder / f"{name}.yaml")
        assert instrument.wording("es") is not None, name
        assert instrument.translations["es"].source
    who5 = load_instrument(WHO5)
    assert who5.validated and who5.wording("es") is None


# --------------------------------------------------------------------------- facilitator side


def test_the_card_sheet_prints_in_the_chosen_language_and_its_links_carry_it(
    store: Store, group: Group
) -> None:
    group.open(at=now())
    codes = pulse.make_cards(store, group.facilitator, group.session_id, 2, now())
    items = pulse.resolve_code(store, codes[0], now()).items
    links = [(c, pulse.join_link("https://example.org", c, "es")) for c in codes]
    sheet = cards.card_sheet("Session 1", links, items, 5, ES, list(OFFERED.values()))
    assert '<html lang="es" dir="ltr">' in sheet
    assert sheet.count("Encuesta breve de hoy") == 2
    assert sheet.count("¿No tiene teléfono? Pida una hoja para responder en papel.") == 2
    assert "Respuestas en papel" in sheet
    assert "al menos 5 personas" in sheet
    assert "Me identifico con este grupo" in sheet
    assert '<table class="matrix" lang="en">' in sheet  # the WHO-5, in English
    assert links[0][1].endswith("&lang=es")
    # Each card names the other languages, in their own words.
    assert sheet.count("En el teléfono también puede responder en: English.") == 2
    english = cards.card_sheet("Session 1", links, items, 5, EN)
    assert "Today&#39;s pulse" in english and "Encuesta" not in english


def test_the_pulse_tab_lists_the_languages_and_what_each_cannot_translate(
    store: Store, group: Group
) -> None:
    code = group.open(at=now())
    items = pulse.resolve_code(store, code, now()).items
    offers = {o.language.code: o.untranslated for o in participant.offers(items, OFFERED)}
    assert offers == {"en": (), "es": ("WHO-5 Well-Being Index",)}


def _language(code: str) -> Language:
    return OFFERED[code]


def test_plural_forms_follow_the_language() -> None:
    assert (
        _language("es").ngettext(participant.QUESTIONS, 1) == "Una pregunta corta. Puede saltarla."
    )
    assert (
        _language("es").ngettext(participant.QUESTIONS, 2).format(count=2).startswith("2 preguntas")
    )
    catalog = Catalog(locale="es")
    assert catalog.num_plurals == 2


def test_the_pulse_tab_says_the_languages_and_sets_the_projectors_and_the_cards(
    store: Store, group: Group
) -> None:
    at = app_test("pages/session.py", store, group.facilitator)
    at.run()
    (opener,) = [b for b in at.button if b.label == "Open the pulse"]
    at = opener.click().run()
    assert not at.exception
    said = " ".join(c.value for c in at.caption)
    assert "People can answer in: English, Español." in said
    assert "In Español, WHO-5 Well-Being Index is asked in its own language" in said
    (choice,) = [s for s in at.selectbox if s.label.startswith("Language of the projector")]
    at = choice.select("es").run()
    (link,) = [b for b in at.link_button if b.label == "Show on the projector"]
    assert "&lang=es&" in link.proto.url


def test_the_projector_view_speaks_the_rooms_language() -> None:
    view = projector.View("open", address="example.org/pulse", link="x", code="ABCD-EFGH")
    spanish = projector.page(view, ES)
    assert '<html lang="es" dir="ltr">' in spanish
    assert "Responda la encuesta breve de hoy" in spanish and "y escriba el código" in spanish
    cards_only = projector.page(projector.View("cards", address="example.org/pulse"), ES)
    assert (
        'Responda con su tarjeta: entre en <b dir="ltr">example.org<wbr>/pulse</b> y escriba'
        in cards_only
    )

"""The printable sheet of single-use pulse cards: eight cards to an A4 page, each a QR code and a
typed code, with cut marks; then a paper form with large tick boxes for anyone without a phone,
who folds their card inside it (the facilitator types the card's code and its answers in).

A sheet is printed in one language (the participant's catalogs, program/i18n.py, and the
instruments' own translations); each card's link carries it, so the phone opens in it too.
Questions with no translation into it are printed in their instrument's own language.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from program.i18n import N_, SOURCE_LANGUAGE, Language, languages
from program.models import Instrument, Item, Wording
from program.participant import Layout, layout_of
from program.printing import render
from program.pulse import format_code, qr_svg

TODAYS_PULSE = N_("Today's pulse")
SCAN = N_(
    "Scan the code with your phone camera, or go to the link your facilitator shows and type"
    " this code:"
)
ONCE = N_(
    "This card works once. It is not linked to you: shuffle the cards before handing them out."
)
NO_PHONE = N_(
    "No phone? Ask for a paper form. Fold this card inside it and put both in the box, face down."
)
OTHER_LANGUAGES = N_("On a phone you can also answer in: {languages}.")
PROMISE = N_(
    "Only the group's averages are shown, and only when at least {k} people answer, after the"
    " pulse closes. No name, device or time is kept with your answers."
)
PAPER_TITLE = N_("Paper answers")
PAPER_HOW = N_(
    "Tick one box for each question; skip any you like. Then fold your card inside this sheet"
    " and put both in the box, face down. Nothing on this sheet says who you are."
)
CARDS_PER_PAGE = 8  # two across, four down: about the size of a postcard each
BOX_PITCH_MM = 13.2  # a tick box and the gap after it, on the paper form


def _words(instrument: Instrument, lang: Language) -> Wording:
    words = instrument.wording(lang.code) or instrument.wording(None)
    assert words is not None
    return words


def _parts(items: Sequence[tuple[Instrument, Item]], lang: Language) -> list[dict[str, Any]]:
    """The paper form's questions, grouped by what they ask about as on the phone: each with its boxes
    (numbers, or words for a scale that has words on every point) and the words at its ends."""
    parts: list[dict[str, Any]] = []
    for number, (instrument, item) in enumerate(items, start=1):
        words = _words(instrument, lang)
        said = (words.language, words.recall, words.instructions)
        if not parts or parts[-1]["said"] != said:
            own = words.language != lang.code
            parts.append(
                {
                    "said": said,
                    "own": Markup(f' lang="{escape(words.language)}"') if own else "",
                    "recall": words.recall,
                    "instructions": words.instructions,
                    "questions": [],
                    # Words on every point (the WHO-5): one table, the words said once above
                    # the columns, as the instrument is printed on paper.
                    "matrix": layout_of(instrument.scale) == Layout.LIST,
                    "columns": list(words.labels.values()),
                }
            )
        scale = instrument.scale
        worded = layout_of(scale) == Layout.LIST
        points = list(words.labels) if worded else scale.points
        parts[-1]["questions"].append(
            {
                "number": number,
                "text": words.items[item.id],
                "words": worded,
                "boxes": [words.labels[p] if worded else str(p) for p in points],
                "low": f"{scale.min} = {words.labels[scale.min]}",
                "high": f"{scale.max} = {words.labels[scale.max]}",
                "width": round(len(points) * BOX_PITCH_MM - 2.2, 1),
            }
        )
    return parts


def card_sheet(
    title: str,
    links: list[tuple[str, str]],
    items: Sequence[tuple[Instrument, Item]],
    min_group_size: int,
    lang: Language | None = None,
    offered: Sequence[Language] = (),
    toolbar: str | None = None,
) -> str:
    """A print-ready page of cards in `lang`, eight to an A4 page with cut marks, and one paper
    form with large tick boxes; `links` pairs each card code with its join link (which should
    carry the same language). Each card names the other languages `offered`, each in its own
    words. `toolbar` shows a Print button on screen with that text beside it."""
    lang = lang or languages()[SOURCE_LANGUAGE]
    others = [o for o in offered if o.code != lang.code]
    text = {
        "title": lang.gettext(TODAYS_PULSE),
        "scan": lang.gettext(SCAN),
        "once": lang.gettext(ONCE),
        "no_phone": lang.gettext(NO_PHONE),
        "also": lang.gettext(OTHER_LANGUAGES).format(languages=", ".join(o.name for o in others))
        if others
        else "",
        "promise": lang.gettext(PROMISE).format(k=min_group_size),
        "paper_title": lang.gettext(PAPER_TITLE),
        "paper_how": lang.gettext(PAPER_HOW),
    }
    # The QR codes are our own SVG markup, made from our own links.
    cards = [{"code": format_code(code), "qr": Markup(qr_svg(link))} for code, link in links]
    pages = [cards[i : i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    return render(
        "print/cards.html",
        lang=lang.code,
        direction=lang.direction,
        title=f"{title}: pulse cards",
        toolbar=toolbar,
        text=text,
        pages=pages,
        parts=_parts(items, lang),
    )


def sheet_pages(cards: int) -> int:
    """Pages a sheet of `cards` cards prints on: the card pages and the paper form."""
    return -(-cards // CARDS_PER_PAGE) + 1

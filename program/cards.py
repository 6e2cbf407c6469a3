"""The printable sheet of single-use pulse cards: a QR code and typed code on the front, and the
questions with boxes to tick for anyone answering on paper.

A sheet is printed in one language (the participant's catalogs, program/i18n.py, and the
instruments' own translations); each card's link carries it, so the phone opens in it too.
Questions with no translation into it are printed in their instrument's own language.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from program.i18n import N_, SOURCE_LANGUAGE, Language, languages
from program.models import Instrument, Item, Wording
from program.pulse import format_code, qr_svg

TODAYS_PULSE = N_("Today's pulse")
SCAN = N_(
    "Scan the code with your phone camera, or go to the link your facilitator shows and type"
    " this code:"
)
ONCE = N_(
    "This card works once. It is not linked to you: shuffle the cards before handing them out."
)
NO_PHONE = N_("No phone? Answer on this card.")
PAPER = N_("Then put it face down in the box. Tick one box for each question.")
OTHER_LANGUAGES = N_("On a phone you can also answer in: {languages}.")
PROMISE = N_(
    "Only the group's averages are shown, and only when at least {k} people answer, after the"
    " pulse closes. No name, device or time is kept with your answers."
)


def _scale_boxes(instrument: Instrument, lang: Language) -> str:
    labels = _words(instrument, lang).labels
    boxes = []
    for point in instrument.scale.points:
        words = f" {escape(labels[point])}" if point in labels else ""
        boxes.append(f'<span class="box">☐ {point}{words}</span>')
    return " ".join(boxes)


def _words(instrument: Instrument, lang: Language) -> Wording:
    words = instrument.wording(lang.code) or instrument.wording(None)
    assert words is not None
    return words


def _questions(items: list[tuple[Instrument, Item]], lang: Language) -> str:
    parts = []
    current = None
    for number, (instrument, item) in enumerate(items, start=1):
        words = _words(instrument, lang)
        own = f' lang="{escape(words.language)}"' if words.language != lang.code else ""
        if instrument.id != current:
            current = instrument.id
            parts.append(f'<p class="recall"{own}>{escape(words.recall)}:</p>')
        parts.append(
            f'<div class="q"{own}><b>{number}.</b> {escape(words.items[item.id])}<br>'
            f"{_scale_boxes(instrument, lang)}</div>"
        )
    return "\n".join(parts)


def card_sheet(
    title: str,
    links: list[tuple[str, str]],
    items: list[tuple[Instrument, Item]],
    min_cell_size: int,
    lang: Language | None = None,
    offered: Sequence[Language] = (),
) -> str:
    """A standalone HTML page of cards in `lang`; `links` pairs each card code with its join
    link (which should carry the same language). Each card names the other languages `offered`,
    each in its own words, since the page's switch is one tap away on the phone."""
    lang = lang or languages()[SOURCE_LANGUAGE]
    questions = _questions(items, lang)
    others = [o for o in offered if o.code != lang.code]
    also = (
        f'<p class="small">{escape(lang.gettext(OTHER_LANGUAGES).format(languages=", ".join(o.name for o in others)))}</p>'
        if others
        else ""
    )

    def say(message: str) -> str:
        return escape(lang.gettext(message))

    cards = "\n".join(
        f"""
        <section class="card">
          <div class="front">
            <div class="qr">{qr_svg(link)}</div>
            <div>
              <h2>{say(TODAYS_PULSE)}</h2>
              <p>{say(SCAN)}</p>
              <p class="code" dir="ltr">{escape(format_code(code))}</p>
              <p class="small">{say(ONCE)}</p>
              {also}
            </div>
          </div>
          <div class="paper">
            <p><b>{say(NO_PHONE)}</b> {say(PAPER)}</p>
            {questions}
          </div>
          <p class="small">{escape(lang.gettext(PROMISE).format(k=min_cell_size))}</p>
        </section>"""
        for code, link in links
    )
    return f"""<!doctype html>
<html lang="{lang.code}" dir="{lang.direction}"><head><meta charset="utf-8"><title>{escape(title)}: pulse cards</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 1cm; color: #111; }}
  .card {{ border: 1px dashed #555; padding: .6cm; margin-bottom: .6cm; break-inside: avoid;
           page-break-inside: avoid; }}
  .front {{ display: flex; gap: .8cm; align-items: center; }}
  .qr svg {{ width: 4cm; height: 4cm; }}
  .code {{ font-size: 1.6rem; font-weight: 700; letter-spacing: .15rem; font-family: monospace; }}
  .q {{ margin: .25rem 0 .45rem; font-size: .9rem; }}
  .box {{ display: inline-block; margin-inline-end: .5rem; white-space: nowrap; }}
  .recall {{ margin: .5rem 0 0; font-style: italic; font-size: .9rem; }}
  .small {{ font-size: .8rem; color: #333; }}
  h1 {{ font-size: 1.2rem; }} h2 {{ margin: 0 0 .3rem; font-size: 1.1rem; }}
  @media print {{ .noprint {{ display: none; }} body {{ margin: 0; }} }}
</style></head>
<body>
<h1 class="noprint">{escape(title)}: {len(links)} pulse cards. Print, cut along the dashed lines,
shuffle, hand out.</h1>
{cards}
</body></html>
"""

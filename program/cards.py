"""The printable sheet of single-use pulse cards: a QR code and typed code on the front, and the
questions with boxes to tick for anyone answering on paper."""

from __future__ import annotations

from html import escape

from program.models import Instrument, Item
from program.pulse import format_code, qr_svg


def _scale_boxes(instrument: Instrument) -> str:
    labels = instrument.scale.labels
    boxes = []
    for point in instrument.scale.points:
        words = f" {escape(labels[point])}" if point in labels else ""
        boxes.append(f'<span class="box">☐ {point}{words}</span>')
    return " ".join(boxes)


def _questions(items: list[tuple[Instrument, Item]]) -> str:
    parts = []
    current = None
    for number, (instrument, item) in enumerate(items, start=1):
        if instrument.id != current:
            current = instrument.id
            parts.append(f'<p class="recall">{escape(instrument.recall)}:</p>')
        parts.append(
            f'<div class="q"><b>{number}.</b> {escape(item.text)}<br>{_scale_boxes(instrument)}</div>'
        )
    return "\n".join(parts)


def card_sheet(
    title: str,
    links: list[tuple[str, str]],
    items: list[tuple[Instrument, Item]],
    min_cell_size: int,
) -> str:
    """A standalone HTML page of cards; `links` pairs each card code with its join link."""
    questions = _questions(items)
    cards = "\n".join(
        f"""
        <section class="card">
          <div class="front">
            <div class="qr">{qr_svg(link)}</div>
            <div>
              <h2>Today's pulse</h2>
              <p>Scan the code with your phone camera, or go to the link your facilitator shows
                 and type this code:</p>
              <p class="code">{escape(format_code(code))}</p>
              <p class="small">This card works once. It is not linked to you: shuffle the cards
                 before handing them out.</p>
            </div>
          </div>
          <div class="paper">
            <p><b>No phone? Answer here</b> and put the card, face down, in the box. Tick one box
               per question.</p>
            {questions}
          </div>
          <p class="small">Only the group's averages are shown, and only when at least
             {min_cell_size} people answer, after the pulse closes. No name, device or time is
             kept with your answers.</p>
        </section>"""
        for code, link in links
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}: pulse cards</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 1cm; color: #111; }}
  .card {{ border: 1px dashed #555; padding: .6cm; margin-bottom: .6cm; break-inside: avoid;
           page-break-inside: avoid; }}
  .front {{ display: flex; gap: .8cm; align-items: center; }}
  .qr svg {{ width: 4cm; height: 4cm; }}
  .code {{ font-size: 1.6rem; font-weight: 700; letter-spacing: .15rem; font-family: monospace; }}
  .q {{ margin: .25rem 0 .45rem; font-size: .9rem; }}
  .box {{ display: inline-block; margin-right: .5rem; white-space: nowrap; }}
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

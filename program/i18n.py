"""The languages a participant can read the pulse in: message catalogs and choosing one.

Every sentence a participant sees is written in English in the code (marked with `N_` where it is
defined, or `_()` in the templates) and translated where it is shown, from the gettext catalogs in
locale/<language>/LC_MESSAGES/messages.po. The catalogs are compiled in memory the first time a
language is asked for, so a fresh checkout needs no build step; `make translations` extracts new
sentences into the catalogs (README, "Adding a language").

A language is chosen per request, from the link's `lang` (the page's language switch, or a printed
card's link) or else the browser's Accept-Language; it is never stored, logged or sent along with
an answer. Instruments carry their own translations in their files (program/models.py); this
module only translates the page around them.
"""

from __future__ import annotations

import functools
import gettext
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"  # the language the code's sentences are written in
# A right-to-left stand-in built from the English sentences, for checking the mirrored layout
# without a reader of any right-to-left language (Android calls the same idea "ar-XB").
PSEUDO_RTL = "ar-XB"
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def N_(message: str) -> str:  # noqa: N802 (gettext's own style)
    """Mark a sentence for the catalogs where it is defined; it is translated where it is shown."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 (gettext's own style)
    """Mark a sentence with a plural form for the catalogs; Language.ngettext picks the form."""
    return singular, plural


@dataclass(frozen=True)
class Language:
    code: str  # the BCP 47 tag the page's lang attribute carries: "en", "es"
    name: str  # the language's name in itself, for the switch: "español"
    direction: str  # "ltr" or "rtl", the page's dir attribute
    catalog: gettext.NullTranslations = field(compare=False, repr=False)

    def gettext(self, message: str) -> str:
        return self.catalog.gettext(message)

    def ngettext(self, forms: tuple[str, str], n: int) -> str:
        return self.catalog.ngettext(forms[0], forms[1], n)

    def name_of(self, code: str) -> str:
        """Another language's name in this one ("inglés" for "en" on a Spanish page)."""
        try:
            name = Locale.parse(code, sep="-").get_display_name(self.code.split("-")[0])
        except (ValueError, UnknownLocaleError):
            return code
        return name or code


def _language(code: str, catalog: gettext.NullTranslations) -> Language:
    locale = Locale.parse(code, sep="-")
    name = locale.get_display_name(code.replace("-", "_")) or code
    return Language(code, name[:1].upper() + name[1:], locale.text_direction, catalog)


def _compiled(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt leaves them out
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def _pseudo_rtl(template: Catalog) -> gettext.GNUTranslations:
    # Each sentence between RIGHT-TO-LEFT OVERRIDE and POP DIRECTIONAL FORMATTING: it reads
    # mirrored, the way a right-to-left language would flow, yet stays English to whoever tests.
    # English plural rules: the stand-in's sentences are English ones, mirrored.
    pseudo = Catalog(locale="en", domain=DOMAIN)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            pseudo.add(message.id, tuple(f"\u202e{m}\u202c" for m in message.id))
        else:
            pseudo.add(message.id, f"\u202e{message.id}\u202c")
    return _compiled(pseudo)


@functools.cache
def languages(folder: Path = LOCALE_DIR, pseudo: bool = False) -> dict[str, Language]:
    """The languages the participant's pages are offered in: English (the code's own), every
    catalog under `folder`, and the right-to-left stand-in when `pseudo` is on (tests only)."""
    found = {SOURCE_LANGUAGE: _language(SOURCE_LANGUAGE, gettext.NullTranslations())}
    for po in sorted(folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        code = po.parent.parent.name.replace("_", "-")
        found[code] = _language(code, _compiled(read_catalog(po)))
    if pseudo:
        template = read_catalog(folder / f"{DOMAIN}.pot")
        found[PSEUDO_RTL] = Language(PSEUDO_RTL, "Pseudo RTL", "rtl", _pseudo_rtl(template))
    return found


def accepted(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (ties keep their order);
    malformed parts are passed over."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0 and (tag == "*" or _TAG.match(tag)):
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def match(tag: str, offered: dict[str, Language]) -> Language | None:
    """The offered language a tag asks for: the same tag, or its first part ("es-MX" → "es")."""
    by_lower = {code.lower(): language for code, language in offered.items()}
    tag = tag.lower()
    return by_lower.get(tag) or by_lower.get(tag.split("-")[0])


def choose(asked: str | None, header: str | None, offered: dict[str, Language]) -> Language:
    """The language to answer in: the one the link asks for, else the browser's first offered
    preference, else English."""
    if asked:
        found = match(asked.strip()[:35], offered)
        if found is not None:
            return found
    for tag in accepted(header):
        if tag == "*":
            break
        found = match(tag, offered)
        if found is not None:
            return found
    return offered[SOURCE_LANGUAGE]


def report(folder: Path = LOCALE_DIR) -> list[str]:
    """One line per catalog: how many of the template's sentences it translates, and which not."""
    wanted = {m.id for m in read_catalog(folder / f"{DOMAIN}.pot") if m.id}
    lines = []
    for po in sorted(folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        done = {
            m.id
            for m in read_catalog(po)
            if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
        }
        left = sorted(str(m) for m in wanted - done)
        lines.append(
            f"{po.parent.parent.name}: {len(wanted & done)} of {len(wanted)} sentences translated"
            + (f"; still to do: {left}" if left else "")
        )
    return lines


if __name__ == "__main__":
    print("\n".join(report()))

"""Text that people type, made safe for Markdown: shown as written, loading nothing.

Streamlit reads Markdown in st.markdown, st.write, st.caption, alerts, toasts, titles, widget
labels, radio options, tab and expander labels, tooltips and st.table cells. A roster name, cohort
name, program name, staff name or curriculum title could otherwise carry an image that makes every
browser showing it fetch a URL elsewhere (which then learns the viewer's address and the time), a
link, or formatting. Two helpers:

- `plain(text)`: the text exactly as typed, with no Markdown taking effect. For names and titles.
- `guide_markdown(text)`: curriculum guide text keeps its formatting (emphasis, lists, tables,
  headings) but loses every image, link and HTML tag, and bare addresses stop being links, so a
  guide never loads or points to anything elsewhere. For notes, intentions, prompts and the like.

Selectbox and multiselect options, st.dataframe cells, st.text and st.code show text as it is and
need neither.
"""

from __future__ import annotations

import re

# Backslash escapes (CommonMark allows one before any ASCII punctuation and shows the character
# alone), only where a character could start something, so ordinary text reads the same in tests
# and logs: anywhere, the characters of emphasis, code, links, HTML, entities, tables and math;
# at the start of a line, headings, quotes, list markers and rules.
_INLINE = re.compile(r"[\\`*_~\[\]<|$]|&(?=#?\w+;)")
_LINE_START = re.compile(r"^([ \t]*)(?:([#>+=-])|(\d+)([.)]))", re.M)
# Some patterns Streamlit finds in the text itself, after escapes are resolved: addresses it turns
# into links ("http://…", "www.…", "name@host.org"), and a colon before a name (":red[…]" colours,
# ":material/…:" icons, ":smile:" emoji). A word joiner (U+2060, invisible and without width) after
# the start of each breaks the pattern and changes nothing a reader sees.
WORD_JOINER = "\u2060"
_LINKABLE = r"(?i)(?:https?|ftp|www)(?=\\?[:.])|@"
_ADDRESS = re.compile(_LINKABLE + r"|:(?=[\w+-])")
_GUIDE_ADDRESS = re.compile(_LINKABLE)  # guides keep colours and icons, only addresses break


def plain(text: str) -> str:
    """`text` for a Markdown context, shown literally: no image, link, HTML or formatting."""
    text = _INLINE.sub(lambda m: "\\" + m.group(0), _ADDRESS.sub(_join, str(text)))
    return _LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker, number, dot = match.groups()
    return f"{indent}\\{marker}" if marker else f"{indent}{number}\\{dot}"


def _join(match: re.Match[str]) -> str:
    return match.group(0) + WORD_JOINER


# --------------------------------------------------------------------------- guide text

# Code is left exactly as written: fenced blocks and inline code spans load and link nothing.
_CODE = re.compile(
    r"(^ {0,3}(`{3,}|~{3,})[^\n]*\n[\s\S]*?(?:^ {0,3}\2[ \t]*$|\Z)|(`+)[^`]+?\3)", re.M
)
_IMAGE = re.compile(r"!\[((?:[^\[\]\\]|\\.)*)\]\((?:[^()\\]|\\.|\([^()]*\))*\)")
_REFERENCE_IMAGE = re.compile(r"!\[((?:[^\[\]\\]|\\.)*)\]\[[^\]]*\]")
_LINK = re.compile(r"\[((?:[^\[\]\\]|\\.)*)\]\(\s*<?((?:[^()\s<>\\]|\\.|\([^()]*\))*)>?[^)]*\)")
_AUTOLINK = re.compile(r"<((?:[a-zA-Z][a-zA-Z0-9+.-]{1,31}:|www\.)[^<>\s]*|[^<>\s@]+@[^<>\s@]+)>")
_TASK_BOX = re.compile(r"^(\s*(?:[-+*]|\d+[.)])\s+)\[([ xX])\]", re.M)
_DIRECTIVE = re.compile(r"(:[a-z][a-z-]*)\[([^\[\]<]*)\]")
_OPEN, _CLOSE = "\x00open\x00", "\x00close\x00"  # placeholders while brackets are escaped
_BRACKET = re.compile(r"\\.|[\[\]<]", re.S)


def guide_markdown(text: str) -> str:
    """Curriculum Markdown with its formatting, minus anything that loads or links elsewhere.

    Images become their alt text; links become their text followed by the address in brackets,
    as plain text; <autolinks> and HTML tags are shown as text; bare addresses stop being links.
    Whatever survives the patterns below still cannot open an image or a link, because every
    remaining square bracket and every "<" is escaped (task-list boxes "- [ ]" excepted; a ">"
    alone starts a blockquote, which is kept).
    """
    parts = _CODE.split(text)
    # split() with groups returns [prose, whole code, fence, ticks, prose, …]: every fourth item
    # from 0 is prose, the item after it is code kept whole.
    out = []
    for index in range(0, len(parts), 4):
        out.append(_guide_prose(parts[index]))
        if index + 1 < len(parts):
            out.append(parts[index + 1])
    return "".join(out)


def _guide_prose(text: str) -> str:
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _REFERENCE_IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(_link_as_text, text)
    text = _AUTOLINK.sub(lambda m: _address(m.group(1)), text)
    # Brackets that stay: task-list boxes, and Streamlit's ":red[…]"-style labels (the patterns
    # above already took every image and link out of them).
    text = _TASK_BOX.sub(lambda m: f"{m.group(1)}{_OPEN}{m.group(2)}{_CLOSE}", text)
    text = _DIRECTIVE.sub(lambda m: f"{m.group(1)}{_OPEN}{m.group(2)}{_CLOSE}", text)
    # Escapes stay as written; every other bracket is escaped.
    text = _BRACKET.sub(lambda m: m.group(0) if len(m.group(0)) == 2 else "\\" + m.group(0), text)
    text = text.replace(_OPEN, "[").replace(_CLOSE, "]")
    return _GUIDE_ADDRESS.sub(_join, text)


def _link_as_text(match: re.Match[str]) -> str:
    label, target = match.group(1), match.group(2).strip()
    if not target or target.startswith("#"):
        return label
    return f"{label} ({_address(target)})"


def _address(target: str) -> str:
    """An address shown as text: escaped, and broken up so it is not turned into a link."""
    return plain(target)

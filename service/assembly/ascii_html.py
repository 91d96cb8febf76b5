"""A compiled HTML body made fit to travel as 7-bit text: nothing to encode per recipient.

Quoted-printable costs every message about a tenth more bytes (each ``=`` of an attribute is
``=3D``, a soft break every 76 octets) and an encoding pass over each personal value. MJML's HTML
is ASCII but for its text, and a character reference means the same character to any HTML
reader, so the variant's HTML is made ASCII once (``to_ascii``) and its one long line is broken
into lines well under RFC 5322's 998 octets (``fold``) where a line break cannot change what is
shown: in the white space between the attributes of a tag. Such a body goes out with
``Content-Transfer-Encoding: 7bit`` (no 8BITMIME needed), and its personal values only need
escaping (``service.assembly.render``): service.assembly.mime chooses it per variant and per
recipient, and falls back to quoted-printable where a body or a value does not fit."""

from __future__ import annotations

import re
from typing import Mapping

from service.content.markup.fields import PLACEHOLDER

# RFC 5322: a line is at most 998 octets without its CRLF. Folding aims well below, so that a
# personal value far longer than usual still fits (service.assembly.mime checks the rest).
LINE_LIMIT = 998
FOLD_AT = 600
# Raw text elements: a character reference in them is not decoded, so they keep their bytes.
_RAW_TEXT = re.compile(r"(<(style|script)\b[^>]*>.*?</\2\s*>)", re.IGNORECASE | re.DOTALL)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# A start tag (also inside Outlook's conditional comments); end tags have no attributes.
_TAG = re.compile(r"<[A-Za-z][^<>]*>")
# Inside a tag: quoted values, other runs, and the white space between them.
_IN_TAG = re.compile(r"""\s+|"[^"]*"|'[^']*'|[^\s"']+""")


def to_ascii(html: str) -> str:
    """``html`` with every non-ASCII character outside ``<style>`` and ``<script>`` written as a
    decimal character reference (characters inside those stay: the body then travels as
    quoted-printable)."""
    if html.isascii():
        return html
    pieces = _RAW_TEXT.split(html)
    # split() with two groups: text, whole raw element, its tag name, text, ...
    out = []
    for index, piece in enumerate(pieces):
        kind = index % 3
        if kind == 0:
            out.append(_NON_ASCII.sub(lambda m: f"&#{ord(m.group(0))};", piece))
        elif kind == 1:
            out.append(piece)
    return "".join(out)


def fold(html: str, longest: Mapping[str, int], limit: int = FOLD_AT) -> str:
    """``html`` with a line break put in place of the white space between two attributes of a
    tag wherever a line would grow past ``limit`` characters (a personal field's placeholder
    counts as ``longest[field]``); the break goes at the last such space before the overflow.
    A line with no tag to break in stays as long as it is."""
    out: list[str] = []
    cut: int | None = None  # index in out of the last breakable space on the current line
    width = since = 0  # the current line's width; its width after that space
    for piece, breakable in _pieces(html):
        if breakable and "\n" in piece:  # a line break there already
            out.append(piece)
            cut, width = None, len(piece) - piece.rfind("\n") - 1
            continue
        if breakable:
            out.append(piece)
            cut, since, width = len(out) - 1, 0, width + len(piece)
            continue
        if "\n" in piece:
            if width + _width(piece[:piece.find("\n")], longest) > limit and cut is not None:
                out[cut] = "\n"
            out.append(piece)
            cut, width = None, _width(piece[piece.rfind("\n") + 1:], longest)
            continue
        w = _width(piece, longest)
        if width + w > limit and cut is not None:
            out[cut], width, cut = "\n", since, None
        out.append(piece)
        width, since = width + w, since + w
    return "".join(out)


def _pieces(html: str):
    """The HTML in order as (text, breakable): breakable is white space between attributes."""
    position = 0
    for tag in _TAG.finditer(html):
        if tag.start() > position:
            yield html[position:tag.start()], False
        for part in _IN_TAG.findall(tag.group(0)):
            yield part, part[0].isspace()
        position = tag.end()
    if position < len(html):
        yield html[position:], False


def _width(text: str, longest: Mapping[str, int]) -> int:
    if "@@" not in text:
        return len(text)
    width, position = 0, 0
    for match in PLACEHOLDER.finditer(text):
        width += match.start() - position + longest.get(match.group(1), len(match.group(0)))
        position = match.end()
    return width + len(text) - position

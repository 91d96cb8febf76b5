"""The plain-text part of a compiled variant, made from its HTML by inscriptis.

``html_to_text`` converts one whole document. A send compiles hundreds of bodies that share
most of their sections (the same block of the same edition is the same HTML in every variant
it is in), and converting the HTML was half of a compile. So the compile marks where each block
and slot begins and ends (``CUT``, an empty element that MJML passes through in an
``<mj-raw>``), and ``SectionText`` converts each piece between two marks once, then joins the
pieces' text. A piece is a run of whole ``<mj-section>``s, block-level boxes stacked one under the
other, so its text does not depend on its neighbours: tests/service/assembly/test_plain_text.py
shows the join gives the very text of the whole document for every variant of the demo content.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

# An empty element, not a comment: MJML drops comments, but keeps an <mj-raw>'s content verbatim.
CUT = '<i class="nl-text-cut"></i>'
CUT_MJML = f"<mj-raw>{CUT}</mj-raw>"  # between sections
MAX_CACHED_PIECES = 4096  # a piece is a few KB of HTML and its text

_CONFIG = ParserConfig(css=CSS_PROFILES["strict"], display_links=True, display_images=False)
_BLANK_LINES = re.compile(r"\n[ \t]*(\n[ \t]*){2,}")
_EMPTY_LINK = re.compile(r"\[\s*\]\([^)\s]*\)")


def html_to_text(html: str) -> str:
    """The plain-text part: readable, links listed after their text, headings kept."""
    return _tidy(get_text(html, _CONFIG))


def _tidy(text: str) -> str:
    text = _EMPTY_LINK.sub("", text)  # linked images: the button repeats the link
    # inscriptis pads centred text with spaces; in a plain-text email they only get in the way.
    text = "\n".join(line.strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"


class SectionText:
    """Plain text of compiled HTML cut at ``CUT`` marks, each distinct piece converted once
    (bounded: the least recently used piece goes first)."""

    def __init__(self, limit: int = MAX_CACHED_PIECES):
        self._pieces: OrderedDict[str, str] = OrderedDict()
        self.limit = limit
        self.converted = 0  # pieces converted (not found in the cache): for tests and benches

    def of(self, marked_html: str) -> tuple[str, str]:
        """(the HTML without its marks, its plain text)."""
        pieces = marked_html.split(CUT)
        return "".join(pieces), _tidy("\n".join(self._text(piece) for piece in pieces))

    def _text(self, piece: str) -> str:
        found = self._pieces.get(piece)
        if found is not None:
            self._pieces.move_to_end(piece)
            return found
        self.converted += 1
        found = self._pieces[piece] = get_text(piece, _CONFIG) if piece.strip() else ""
        if len(self._pieces) > self.limit:
            self._pieces.popitem(last=False)
        return found

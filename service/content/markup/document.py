"""What every email's document carries, whatever its layout says: the recipient's language on
``<html lang>``, the subject line as its ``<title>`` (which mail programs and screen readers
announce), and a preheader that is hidden from the reader's eyes and from screen readers alike
(it is the inbox preview; read again at the top of the mail it only repeats itself)."""

from __future__ import annotations

import re

_ROOT = re.compile(r"<mjml\b([^>]*)>")
_LANG = re.compile(r"""\slang\s*=\s*("[^"]*"|'[^']*'|\S+)""")
_HEAD = re.compile(r"<mj-head\b[^>]*>")
# How mjml-python writes the <mj-preview> text: the first hidden div of the body.
PREVIEW_DIV = '<div style="display:none;font-size:1px;'
HIDDEN_PREVIEW_DIV = '<div aria-hidden="true" style="display:none;mso-hide:all;font-size:1px;'


def dress(document: str, locale: str, title: str) -> str:
    """The MJML ``document`` with ``lang`` set to ``locale`` and ``<mj-title>`` to ``title``
    (already escaped for HTML; personal fields in it stay placeholders)."""
    root = _ROOT.search(document)
    if root is None:
        return document  # not a document: mjml-python's own error says so
    attributes = _LANG.sub("", root.group(1))
    head_title = f"<mj-title>{title}</mj-title>"
    rest = document[root.end():]
    head = _HEAD.search(rest)
    if head is not None:
        rest = rest[:head.end()] + head_title + rest[head.end():]
    else:
        rest = f"<mj-head>{head_title}</mj-head>" + rest
    return f'{document[:root.start()]}<mjml lang="{locale}"{attributes}>{rest}'


def hide_preheader(html: str) -> str:
    """The compiled HTML with its preheader hidden in Outlook too and from screen readers."""
    return html.replace(PREVIEW_DIV, HIDDEN_PREVIEW_DIV, 1)

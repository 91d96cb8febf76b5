"""MJML to HTML through mjml-python, with its failures turned into a domain error."""

from __future__ import annotations

import mjml

from service.content.markup.document import hide_preheader


class MjmlError(ValueError):
    """The MJML does not compile; `message` is mjml-python's own words."""


def compile_mjml(document: str, social_icons: str | None = None) -> str:
    """Compile a complete <mjml> document to HTML (no comments, no web-font links, the preheader
    hidden); ``social_icons``: where <mj-social>'s icons come from (the template's own asset host;
    MJML's default is www.mailjet.com)."""
    # fonts={} keeps the email free of third-party font requests.
    options = {"social_icon_origin": social_icons} if social_icons else {}
    try:
        html = mjml.mjml2html(document, disable_comments=True, fonts={}, **options)
    except Exception as exc:  # the binding raises ValueError, but the Rust side may raise others
        raise MjmlError(str(exc) or type(exc).__name__) from exc
    return hide_preheader(html)


def wrap_block(body: str) -> str:
    """A block's body (mj-section level) as a minimal document, to compile it on its own."""
    return f"<mjml><mj-body>{body}</mj-body></mjml>"

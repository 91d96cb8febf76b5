"""MJML to HTML through mjml-python, with its failures turned into a domain error."""

from __future__ import annotations

import mjml


class MjmlError(ValueError):
    """The MJML does not compile; `message` is mjml-python's own words."""


def compile_mjml(document: str) -> str:
    """Compile a complete <mjml> document to HTML (no comments, no web-font links)."""
    try:
        # fonts={} keeps the email free of third-party font requests.
        return mjml.mjml2html(document, disable_comments=True, fonts={})
    except Exception as exc:  # the binding raises ValueError, but the Rust side may raise others
        raise MjmlError(str(exc) or type(exc).__name__) from exc


def wrap_block(body: str) -> str:
    """A block's body (mj-section level) as a minimal document, to compile it on its own."""
    return f"<mjml><mj-body>{body}</mj-body></mjml>"

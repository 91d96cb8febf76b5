"""A Jinja extension that translates ``{{ _("a literal message") }}`` when a template is compiled.

The pages have one Jinja environment per language (``preferences.web.i18n``), so a message without
variables has one translation per environment and can become plain template text: the page no
longer calls gettext for it on every request (16 calls, about a fifth of rendering the page).
A message with variables (``_("Hello %(name)s", name=first_name)``) is left to
``jinja2.ext.i18n`` at render time, which escapes the variables.

The text is what ``jinja2.ext.i18n``'s new-style ``_`` returns: the translation, trusted as
markup like any catalogue text (so ``<a href="%(href)s">`` in a msgstr stays a link), with
``%%`` read as ``%``.
"""

from __future__ import annotations

from typing import Callable, Iterator

from jinja2 import Environment
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

# {{ _("message") }} as the lexer gives it; the value of "name" and the string are checked apart.
_PATTERN = ("variable_begin", "name", "lparen", "string", "rparen", "variable_end")


class ConstantMessages(Extension):
    """Set ``environment.constant_gettext`` to the environment's gettext to turn it on."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.extend(constant_gettext=None)

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        gettext: Callable[[str], str] | None = self.environment.constant_gettext  # type: ignore[attr-defined]
        if gettext is None:
            yield from stream
            return
        window: list[Token] = []
        for token in stream:
            window.append(token)
            while window and not _could_become(window):
                yield window.pop(0)
            if len(window) == len(_PATTERN):
                yield Token(window[0].lineno, "data", gettext(window[3].value) % {})
                window.clear()
        yield from window


def _could_become(window: list[Token]) -> bool:
    """Whether the tokens so far are the start of ``{{ _("message") }}``."""
    if any(token.type != expected for token, expected in zip(window, _PATTERN)):
        return False
    return len(window) < 2 or window[1].value == "_"

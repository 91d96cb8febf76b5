"""The preference pages in the customer's language: gettext catalogues, Jinja environments, and
what every page is sent with (its inline stylesheet and security headers).

English is the source language (the msgids); every other page language has a catalogue at
``preferences/locale/<locale>/LC_MESSAGES/messages.po``. The ``.po`` files are read with babel
and compiled in memory when first used, so no compiled ``.mo`` file is kept in the repository
(none can go stale). One Jinja environment per page language, with ``jinja2.ext.i18n`` installed
new-style (``_("Hello %(name)s", name=...)``, escaped like any other expression); messages
without variables are translated once, when a template is compiled (``constant_messages``).
"""

from __future__ import annotations

import base64
import gettext
import hashlib
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Iterable

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from preferences.constant_messages import ConstantMessages

HERE = Path(__file__).resolve().parent
LOCALE_DIR = HERE / "locale"
TEMPLATES = HERE / "templates"
SOURCE_LOCALE = "en"
DOMAIN = "messages"

# The pages' only stylesheet, inlined; the Content-Security-Policy allows exactly this text.
STYLESHEET = Markup((TEMPLATES / "page.css").read_text(encoding="utf-8"))
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(str(STYLESHEET).encode("utf-8")).digest()).decode()
# No scripts, no images, no third-party anything; forms post only to this site.
CONTENT_SECURITY_POLICY = (f"default-src 'none'; style-src '{STYLE_HASH}'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")
# Personal pages: not cached, not framed, and the token in the URL never leaks as a Referer.
PAGE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


@lru_cache(maxsize=1)
def page_locales() -> tuple[str, ...]:
    """The languages the pages can be shown in: English and every locale with a catalogue."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return tuple(dict.fromkeys([SOURCE_LOCALE, *found]))


def page_locale(wanted: Iterable[str | None]) -> str:
    """The first of ``wanted`` the pages can be shown in, else English."""
    available = page_locales()
    for locale in wanted:
        if locale in available:
            return locale
    return SOURCE_LOCALE


@lru_cache(maxsize=None)
def translations(locale: str) -> gettext.NullTranslations:
    """The page translations for ``locale`` (English: the msgids themselves)."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == SOURCE_LOCALE or not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as file:
        catalog = read_po(file, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@lru_cache(maxsize=None)
def environment(locale: str) -> Environment:
    """The Jinja environment rendering the page templates in ``locale``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n", ConstantMessages],
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates are package files: checking their mtime on every page cost 5 % of a view.
        auto_reload=False,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.constant_gettext = translations(locale).gettext  # type: ignore[attr-defined]
    env.globals["stylesheet"] = STYLESHEET
    return env


def render(template: str, locale: str, **context) -> str:
    """``template`` rendered in ``locale``."""
    return environment(locale).get_template(template).render(locale=locale, **context)


@lru_cache(maxsize=None)
def language_name(locale: str) -> str:
    """A language's name in that language, e.g. "Deutsch", for the language choice."""
    try:
        name = Locale.parse(locale).get_display_name(locale) or locale
    except (ValueError, TypeError):
        return locale
    return name[:1].upper() + name[1:]

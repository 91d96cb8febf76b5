"""Every customer-facing text in the customer's language: the gettext catalogues.

English is the source language (the msgids); every other language has a catalogue at
``preferences/locale/<locale>/LC_MESSAGES/messages.po``, shared by the pages (``preferences.web``)
and the mails the service writes itself (the confirmation mail). The ``.po`` files are read with
babel and compiled in memory when first used, so no compiled ``.mo`` file is kept in the
repository (none can go stale).
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Iterable

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LOCALE = "en"
DOMAIN = "messages"


@lru_cache(maxsize=1)
def available() -> tuple[str, ...]:
    """The languages with texts: English and every locale with a catalogue."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return tuple(dict.fromkeys([SOURCE_LOCALE, *found]))


def best_of(wanted: Iterable[str | None]) -> str:
    """The first of ``wanted`` that has texts, else English."""
    languages = available()
    for locale in wanted:
        if locale in languages:
            return locale
    return SOURCE_LOCALE


@lru_cache(maxsize=None)
def for_locale(locale: str) -> gettext.NullTranslations:
    """The translations for ``locale`` (English: the msgids themselves)."""
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
def language_name(locale: str) -> str:
    """A language's name in that language, e.g. "Deutsch", for the language choice."""
    try:
        name = Locale.parse(locale).get_display_name(locale) or locale
    except (ValueError, TypeError):
        return locale
    return name[:1].upper() + name[1:]

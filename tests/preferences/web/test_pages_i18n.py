"""The pages' German catalogue is complete, and what a customer will get is said right in words."""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from preferences import translations
from preferences.models import Frequency
from preferences.web.wording import first_edition, format_day, summary
from repo_paths import ROOT
from test_pages_support import TODAY, catalogue, mondays

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted() -> set[str]:
    method_map = [("preferences/web/templates/**.html", "jinja2"), ("preferences/**.py", "python"), ("service/**.py", "python")]
    return {message if isinstance(message, str) else message[0]
            for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, keywords=DEFAULT_KEYWORDS)}


def german() -> dict[str, str]:
    po = (translations.LOCALE_DIR / "de" / "LC_MESSAGES" / "messages.po").read_bytes()
    return {m.id: m.string for m in read_po(BytesIO(po)) if m.id}


def test_every_page_message_has_a_german_translation_with_the_same_placeholders():
    messages, translations = extracted(), german()
    assert len(messages) > 50
    missing = sorted(m for m in messages if not translations.get(m))
    assert missing == []
    for message in messages:
        assert sorted(PLACEHOLDER.findall(message)) == sorted(PLACEHOLDER.findall(translations[message])), message
    assert sorted(set(translations) - messages) == []  # no leftovers from removed messages


def test_page_languages():
    assert translations.available() == ("en", "de")
    assert translations.best_of(["fr", "de"]) == "de" and translations.best_of([None]) == "en"
    assert translations.for_locale("de").gettext("monthly") == "monatlich"
    assert translations.language_name("de") == "Deutsch" and translations.language_name("en") == "English"


def test_format_day():
    assert format_day(date(2026, 12, 7), "en", TODAY) == "7 December"
    assert format_day(date(2026, 12, 7), "de", TODAY) == "7. Dezember"
    assert format_day(date(2027, 1, 4), "de", TODAY) == "4. Januar 2027"
    assert format_day(date(2027, 1, 4), "fr", TODAY) == "4 janvier 2027"


def words(locale, **kwargs):
    options = {"frequency": Frequency.WEEKLY, "paused_until": None, "excluded_groups": (), **kwargs}
    return summary(gettext=translations.for_locale(locale).gettext, locale=locale, catalogue=catalogue(),
                   today=TODAY, **options)


def test_the_example_sentences():
    assert words("en", frequency="monthly", excluded_groups=["kids", "outdoor"]) == \
        "monthly, starting with the edition of 7 December, without Outdoor and Kids"
    assert words("de", frequency="monthly", excluded_groups=["kids", "outdoor"]) == \
        "monatlich, ab der Ausgabe vom 7. Dezember, ohne Outdoor und Kinder"
    assert words("de", frequency="biweekly", excluded_groups=["kids", "outdoor", "garden"]) == \
        "alle zwei Wochen, ab der Ausgabe vom 23. November, ohne Outdoor, Kinder und Garten"


def test_words_without_a_known_edition():
    empty = catalogue()
    object.__setattr__(empty, "upcoming_editions", lambda day: [])
    options = dict(gettext=translations.for_locale("en").gettext, locale="en", catalogue=empty, today=TODAY,
                   excluded_groups=())
    assert summary(frequency="weekly", paused_until=None, **options) == "weekly, starting with the next edition"
    assert summary(frequency="weekly", paused_until=date(2027, 3, 1), **options) == \
        "weekly, starting with the first edition from 1 March 2027 on"


EDITIONS = mondays(date(2026, 11, 1))  # 2 November 2026 onwards


@pytest.mark.parametrize("frequency, paused_until, last_delivery, today, expected", [
    ("weekly", None, None, TODAY, date(2026, 11, 23)),
    ("weekly", None, date(2026, 11, 23), TODAY, date(2026, 11, 30)),       # today's already delivered
    ("weekly", date(2026, 12, 7), None, TODAY, date(2026, 12, 7)),         # the edition ON the pause's end is sent
    ("weekly", date(2026, 12, 8), None, TODAY, date(2026, 12, 14)),
    ("biweekly", None, None, TODAY, date(2026, 11, 23)),
    ("biweekly", None, date(2026, 11, 16), TODAY, date(2026, 11, 30)),     # 13 days or more after the last
    ("biweekly", None, date(2026, 11, 18), TODAY, date(2026, 12, 7)),
    ("monthly", None, None, TODAY, date(2026, 12, 7)),                     # November had its first edition
    ("monthly", None, None, date(2026, 11, 1), date(2026, 11, 2)),
    ("monthly", date(2026, 12, 21), None, TODAY, date(2027, 1, 4)),        # across the year boundary
    ("monthly", date(2027, 2, 1), None, TODAY, date(2027, 2, 1)),          # 1 Feb is February's first Monday
    ("monthly", date(2027, 2, 2), None, TODAY, date(2027, 3, 1)),
])
def test_first_edition_follows_the_due_rules(frequency, paused_until, last_delivery, today, expected):
    assert first_edition(EDITIONS, today, frequency, paused_until, last_delivery) == expected


def test_first_edition_beyond_the_known_editions():
    assert first_edition(EDITIONS[:4], TODAY, "weekly", date(2027, 6, 1)) is None
    assert first_edition([], TODAY, "monthly", None) is None
    assert first_edition(EDITIONS, TODAY, "weekly", None) == TODAY

"""What a customer will get, in words: "monthly, starting with the edition of 7 December, without
Outdoor and Kids" / "monatlich, ab der Ausgabe vom 7. Dezember, ohne Outdoor und Kinder".

The first edition is found with the same due rules the send uses (``preferences.due``), over the
catalogue's upcoming edition dates, so the page never promises what the send will not do.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Callable, Collection, Sequence

from babel.dates import format_date
from babel.lists import format_list

from preferences.due import due_reason
from preferences.models import Frequency, Status
from preferences.web.centre import Catalogue

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Marks a message for extraction; translated where it is shown."""
    return message


FREQUENCY_WORDS = {
    Frequency.WEEKLY: N_("weekly"),
    Frequency.BIWEEKLY: N_("every two weeks"),
    Frequency.MONTHLY: N_("monthly"),
}

# Day and month, as a person writes them; the year only when it is not this year's.
_DAY_PATTERNS = {"de": ("d. MMMM", "d. MMMM y"), "en": ("d MMMM", "d MMMM y")}


def first_edition(
    editions: Sequence[date],
    today: date,
    frequency: Frequency | str,
    paused_until: date | None,
    last_delivery: date | None = None,
) -> date | None:
    """The first edition from ``today`` on that the due rules give an active customer, or None
    if there is none among ``editions``.

    ``editions``: edition dates of the newsletter, including those earlier this month (the
    monthly rule needs the edition before the first upcoming one). ``last_delivery``: the
    customer's latest delivery of it, if known (else none is assumed); an edition on or before
    that day was delivered already.
    """
    previous = None
    for day in sorted(set(editions)):
        if day >= today and (last_delivery is None or day > last_delivery):
            if due_reason(Status.ACTIVE, frequency, paused_until, day, last_delivery, previous) is None:
                return day
        previous = day
    return None


def editions_around(catalogue: Catalogue, today: date) -> Sequence[date]:
    """The catalogue's edition dates from the first of this month on (see ``first_edition``)."""
    return catalogue.upcoming_editions(today.replace(day=1))


def format_day(day: date, locale: str, today: date) -> str:
    """``day`` as "7 December" / "7. Dezember" (with the year when it is not this year)."""
    return _format_day(day, locale, day.year != today.year)


@lru_cache(maxsize=2048)
def _format_day(day: date, locale: str, with_year: bool) -> str:
    # babel's date formatting is slow next to a page; a page names the same few days over and over.
    patterns = _DAY_PATTERNS.get(locale)
    if patterns is None:
        return format_date(day, "long", locale=locale)
    return format_date(day, patterns[with_year], locale=locale)


def frequency_words(frequency: Frequency | str, gettext: Gettext) -> str:
    """"weekly", "every two weeks", "monthly" in the page's language."""
    return gettext(FREQUENCY_WORDS[Frequency(frequency)])


def summary(
    *,
    gettext: Gettext,
    locale: str,
    catalogue: Catalogue,
    today: date,
    frequency: Frequency | str,
    paused_until: date | None,
    excluded_groups: Collection[str],
    last_delivery: date | None = None,
) -> str:
    """What an active customer will now get, as one phrase in ``locale``."""
    words = frequency_words(frequency, gettext)
    first = first_edition(editions_around(catalogue, today), today, frequency, paused_until, last_delivery)
    if first is not None:
        text = gettext("%(frequency)s, starting with the edition of %(date)s") % {
            "frequency": words, "date": format_day(first, locale, today)}
    elif paused_until is not None and paused_until > today:
        text = gettext("%(frequency)s, starting with the first edition from %(date)s on") % {
            "frequency": words, "date": format_day(paused_until, locale, today)}
    else:
        text = gettext("%(frequency)s, starting with the next edition") % {"frequency": words}
    # Catalogue order, the order the page lists them in; groups no longer offered are not named.
    labels = [catalogue.group_label(group, locale) for group in catalogue.product_groups
              if group in excluded_groups]
    if labels:
        text += gettext(", without %(groups)s") % {"groups": format_list(labels, locale=locale)}
    return text

"""The preference page's form: what it shows, and what a submitted one asks to change.

``read_form`` turns the submitted fields into the changes for ``store.change_preferences`` and
the page's field errors, changing only what the page showed: product groups are decided for the
groups listed in the form's hidden ``shown`` fields, so a group added to the catalogue after the
page was rendered keeps the customer's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Callable, Mapping

from preferences import translations
from preferences.changes import latest_pause_end, validate_changes
from preferences.consent import CLICK_TRACKING, EXCLUDED_GROUPS, FREQUENCY, LOCALE, PAUSED_UNTIL
from preferences.errors import InvalidPreference
from preferences.models import Frequency
from preferences.web.centre import Catalogue
from preferences.web.wording import N_, format_day, frequency_words

if TYPE_CHECKING:
    from preferences.web.snapshot import Snapshot

KEEP, NO_PAUSE, UNTIL_DATE = "keep", "none", "date"
PAUSE_WEEKS = {"2w": 2, "4w": 4, "8w": 8}

# Error codes -> messages (translated when shown); %(latest)s is the last day a pause may end.
MESSAGES = {
    "frequency": N_("Please choose one of the offered frequencies."),
    "pause": N_("Please choose one of the offered pauses."),
    "pause-date-missing": N_("Please enter the day from which you want newsletters again."),
    "pause-range": N_("Please choose a day from today until %(latest)s."),
    "groups": N_("The form listed a product group we do not offer. Please check your choice and save again."),
    "locale": N_("Please choose one of the offered languages."),
    "other": N_("Please check your choices."),
}
# Store field -> (form field, error code).
_STORE_FIELDS = {
    FREQUENCY: ("frequency", "frequency"),
    PAUSED_UNTIL: ("pause", "pause-range"),
    EXCLUDED_GROUPS: ("groups", "groups"),
    LOCALE: ("locale", "locale"),
    CLICK_TRACKING: ("measure", "other"),
}


def error_codes(store_errors: Mapping[str, str]) -> dict[str, str]:
    """InvalidPreference.errors as the page's {form field: error code}."""
    return dict(_STORE_FIELDS.get(name, (name, "other")) for name in store_errors)


def explain(errors: Mapping[str, str], gettext: Callable[[str], str], locale: str, today: date) -> dict[str, str]:
    """{form field: error code} as {form field: message in the page's language}."""
    latest = format_day(latest_pause_end(today), locale, today)
    return {field: gettext(MESSAGES[code]) % {"latest": latest} if "%(latest)s" in MESSAGES[code]
            else gettext(MESSAGES[code]) for field, code in errors.items()}


@dataclass(frozen=True)
class FormState:
    """The values a form shows: the stored ones, or the ones just submitted (after an error)."""

    frequency: str
    pause: str
    pause_until: str
    wanted: frozenset[str]
    locale: str
    measure: bool = True  # the clicks in the newsletter may be measured

    @classmethod
    def of(cls, snap: "Snapshot", catalogue: Catalogue, today: date) -> "FormState":
        paused = snap.paused_until is not None and snap.paused_until > today
        return cls(str(snap.frequency), KEEP if paused else NO_PAUSE, "",
                   frozenset(catalogue.product_groups) - set(snap.excluded_groups), snap.locale,
                   snap.click_tracking)

    def view(self, paused_until: date | None, catalogue: Catalogue, locale: str, today: date,
             gettext: Callable[[str], str]) -> "Choices":
        """What the form shows: every choice with its label and whether it is selected
        (``paused_until``: the stored pause, which the form offers to keep)."""
        pauses = []
        if paused_until is not None and paused_until > today:
            pauses.append((KEEP, gettext("Keep the pause: newsletters again from %(date)s")
                           % {"date": format_day(paused_until, locale, today)}))
            pauses.append((NO_PAUSE, gettext("End the pause now")))
        else:
            pauses.append((NO_PAUSE, gettext("No pause")))
        pauses += [(value, gettext("Pause for %(weeks)d weeks") % {"weeks": weeks})
                   for value, weeks in PAUSE_WEEKS.items()]
        pauses.append((UNTIL_DATE, gettext("Pause until a date")))
        return Choices(
            frequencies=tuple((f.value, _upper_first(frequency_words(f, gettext)), f.value == self.frequency)
                              for f in Frequency),
            pauses=tuple((value, label, value == self.pause) for value, label in pauses),
            pause_until=self.pause_until,
            pause_min=today.isoformat(),
            pause_max=latest_pause_end(today).isoformat(),
            groups=tuple((group, catalogue.group_label(group, locale), group in self.wanted)
                         for group in catalogue.product_groups),
            locales=tuple((code, translations.language_name(code), code == self.locale) for code in catalogue.locales),
            measure=self.measure,
        )


@dataclass(frozen=True)
class Choices:
    """The form's choices as (value, label, selected) rows: a value, so equal forms compare and
    hash equal (the page renders each distinct one once)."""

    frequencies: tuple[tuple[str, str, bool], ...]
    pauses: tuple[tuple[str, str, bool], ...]
    pause_until: str
    pause_min: str
    pause_max: str
    groups: tuple[tuple[str, str, bool], ...]
    locales: tuple[tuple[str, str, bool], ...]
    measure: bool = True


def read_form(form: Any, snap: "Snapshot", catalogue: Catalogue,
              today: date) -> tuple[dict[str, Any], dict[str, str], FormState]:
    """(changes for the store, {form field: error code}, the submitted values to show again).

    ``form`` is the submitted form data (``get`` and ``getlist``). Fields the form did not carry
    are not changed.
    """
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}

    frequency = _text(form.get("frequency"))
    if frequency is not None:
        changes[FREQUENCY] = frequency

    pause, until = _text(form.get("pause")), (_text(form.get("pause_until")) or "").strip()
    if until and pause in (None, KEEP, NO_PAUSE):
        pause = UNTIL_DATE  # a typed date is a choice, even if its radio button was not clicked
    current_pause = snap.paused_until if snap.paused_until and snap.paused_until > today else None
    if pause == NO_PAUSE and current_pause is not None:
        changes[PAUSED_UNTIL] = None
    elif pause in PAUSE_WEEKS:
        changes[PAUSED_UNTIL] = today + timedelta(weeks=PAUSE_WEEKS[pause])
    elif pause == UNTIL_DATE:
        if until:
            changes[PAUSED_UNTIL] = until
        else:
            errors["pause"] = "pause-date-missing"
    elif pause not in (None, KEEP, NO_PAUSE):
        errors["pause"] = "pause"

    shown = {group for group in map(_text, form.getlist("shown")) if group is not None}
    wanted = {group for group in map(_text, form.getlist("groups")) if group is not None}
    if wanted - shown:
        errors["groups"] = "groups"
    changes[EXCLUDED_GROUPS] = sorted((set(snap.excluded_groups) - shown) | (shown - wanted))

    locale = _text(form.get("locale"))
    if locale is not None:
        changes[LOCALE] = locale

    # A checkbox sends nothing when unticked: the hidden "measure_shown" says the form had it.
    measure = None
    if _text(form.get("measure_shown")) is not None:
        measure = _text(form.get("measure")) is not None
        changes[CLICK_TRACKING] = measure

    # The store's own rules, so every bad field is reported at once; it checks again on saving.
    current = {FREQUENCY: snap.frequency, PAUSED_UNTIL: snap.paused_until,
               EXCLUDED_GROUPS: list(snap.excluded_groups), LOCALE: snap.locale,
               CLICK_TRACKING: snap.click_tracking}
    try:
        validate_changes(changes, current=current, today=today,
                         known_groups=catalogue.product_groups, locales=catalogue.locales)
    except InvalidPreference as error:
        errors = {**error_codes(error.errors), **errors}

    stored = FormState.of(snap, catalogue, today)
    state = FormState(
        frequency=frequency if frequency is not None else stored.frequency,
        pause=pause if pause is not None else stored.pause,
        pause_until=until,
        # Groups the form did not show keep their stored state on the page shown again.
        wanted=frozenset((stored.wanted - shown) | (wanted & shown)),
        locale=locale if locale is not None else stored.locale,
        measure=measure if measure is not None else stored.measure,
    )
    return changes, errors, state


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None

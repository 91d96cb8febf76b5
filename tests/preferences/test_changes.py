from datetime import date, datetime

import pytest

from preferences.changes import add_months, latest_pause_end, validate_changes
from preferences.errors import InvalidPreference
from preferences.models import Frequency

TODAY = date(2026, 11, 23)
GROUPS = {"outdoor", "garden", "kitchen", "kids"}
CURRENT = {"frequency": Frequency.WEEKLY, "paused_until": None, "excluded_groups": [], "locale": "de"}


def check(changes, current=CURRENT, today=TODAY):
    return validate_changes(changes, current=current, today=today, known_groups=GROUPS, locales=("de", "en"))


@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 11, 23), 12, date(2027, 11, 23)),
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 2, 29), 12, date(2029, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
])
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


def test_latest_pause_end_is_twelve_months_ahead():
    assert latest_pause_end(TODAY) == date(2027, 11, 23)


def test_only_real_changes_are_returned():
    assert check({"frequency": "weekly", "excluded_groups": [], "locale": "de", "paused_until": None}) == {}
    assert check({"frequency": "monthly", "excluded_groups": ["kids", "outdoor", "kids"], "locale": "en",
                  "paused_until": "2026-12-21"}) == {
        "frequency": Frequency.MONTHLY, "excluded_groups": ["kids", "outdoor"], "locale": "en",
        "paused_until": date(2026, 12, 21),
    }


@pytest.mark.parametrize("paused_until", [TODAY, date(2027, 11, 23), "2027-11-23"])
def test_a_pause_from_today_up_to_twelve_months(paused_until):
    assert "paused_until" in check({"paused_until": paused_until})


@pytest.mark.parametrize("paused_until, message", [
    (date(2027, 11, 24), "at most 12 months (until 2027-11-23)"),
    (date(2026, 11, 22), "today or later"),
    ("2026-02-30", "not a valid date"),
    ("next week", "YYYY-MM-DD"),
    (datetime(2026, 12, 1, 10, 0), "YYYY-MM-DD"),
    (5, "YYYY-MM-DD"),
])
def test_bad_pauses(paused_until, message):
    with pytest.raises(InvalidPreference) as error:
        check({"paused_until": paused_until})
    assert error.value.field == "paused_until"
    assert message in error.value.message


def test_clearing_a_pause_and_resubmitting_a_pause_that_has_ended():
    current = dict(CURRENT, paused_until=date(2026, 11, 1))
    assert check({"paused_until": ""}, current) == {"paused_until": None}
    # The stored pause ended three weeks ago; saving the form unchanged is not an error.
    assert check({"paused_until": "2026-11-01", "frequency": "monthly"}, current) == {"frequency": Frequency.MONTHLY}


def test_unknown_groups_are_refused_but_a_retired_group_may_stay_excluded():
    with pytest.raises(InvalidPreference) as error:
        check({"excluded_groups": ["outdoor", "spaceships"]})
    assert "spaceships" in error.value.message
    current = dict(CURRENT, excluded_groups=["toys-retired"])
    assert check({"excluded_groups": ["toys-retired", "garden"]}, current) == {"excluded_groups": ["garden", "toys-retired"]}


@pytest.mark.parametrize("value", ["outdoor", None, {"outdoor": True}, [1, 2]])
def test_excluded_groups_must_be_a_list_of_ids(value):
    with pytest.raises(InvalidPreference):
        check({"excluded_groups": value})


def test_every_bad_field_is_named():
    with pytest.raises(InvalidPreference) as error:
        check({"frequency": "daily", "locale": "fr", "status": "active", "excluded_groups": ["x"]})
    assert set(error.value.errors) == {"frequency", "locale", "status", "excluded_groups"}
    assert "weekly, biweekly, monthly" in error.value.errors["frequency"]
    assert "de, en" in error.value.errors["locale"]
    assert "cannot be changed" in error.value.errors["status"]

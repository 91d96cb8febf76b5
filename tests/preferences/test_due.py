from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preferences.due import (
    BIWEEKLY_NOT_YET,
    MONTHLY_ALREADY,
    PAUSED,
    PENDING,
    UNSUBSCRIBED,
    due_reason,
    is_due,
)
from preferences.models import Frequency, Status

D = date.fromisoformat


def reason(frequency="weekly", *, status="active", paused_until=None, edition, last=None, previous=None):
    return due_reason(status, frequency, paused_until, D(edition), last and D(last), previous and D(previous))


# Status ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("frequency", list(Frequency))
def test_unsubscribed_and_pending_get_nothing(frequency):
    assert reason(frequency, status="unsubscribed", edition="2026-11-23") == UNSUBSCRIBED
    assert reason(frequency, status=Status.PENDING, edition="2026-11-23") == PENDING


def test_status_wins_over_a_pause():
    assert reason(status="unsubscribed", paused_until=D("2027-01-01"), edition="2026-11-23") == UNSUBSCRIBED


def test_unknown_values_are_errors():
    with pytest.raises(ValueError):
        due_reason("active", "daily", None, D("2026-11-23"), None, None)
    with pytest.raises(ValueError):
        due_reason("deleted", "weekly", None, D("2026-11-23"), None, None)


# Weekly ---------------------------------------------------------------------------------------

def test_weekly_gets_every_edition():
    day = D("2026-11-02")
    for _ in range(60):
        assert due_reason(Status.ACTIVE, Frequency.WEEKLY, None, day, day - timedelta(days=7), day - timedelta(7)) is None
        day += timedelta(days=7)


# Pause ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("frequency", list(Frequency))
@pytest.mark.parametrize("edition, expected", [
    ("2026-12-06", PAUSED),   # the day before the pause ends
    ("2026-12-07", None),     # the edition ON paused_until is sent
    ("2026-12-08", None),
])
def test_a_pause_skips_editions_dated_before_its_end(frequency, edition, expected):
    assert reason(frequency, paused_until=D("2026-12-07"), edition=edition, previous="2026-11-30") == expected


def test_a_pause_across_the_new_year():
    assert reason(paused_until=D("2027-01-04"), edition="2026-12-28") == PAUSED
    assert reason(paused_until=D("2027-01-04"), edition="2027-01-04") is None


def test_after_a_pause_a_biweekly_reader_is_due_at_once():
    # Last delivery before a four-week pause; the first edition on the pause's end is sent.
    assert reason("biweekly", paused_until=D("2026-12-21"), edition="2026-12-21", last="2026-11-23") is None


def test_a_monthly_reader_paused_over_the_first_edition_misses_that_month():
    # The rule is "first edition of each calendar month": paused on it, the month is skipped.
    assert reason("monthly", paused_until=D("2026-12-08"), edition="2026-12-07", previous="2026-11-30") == PAUSED
    assert reason("monthly", paused_until=D("2026-12-08"), edition="2026-12-14", previous="2026-12-07") == MONTHLY_ALREADY
    assert reason("monthly", paused_until=D("2026-12-08"), edition="2027-01-04", previous="2026-12-28") is None


# Biweekly -------------------------------------------------------------------------------------

@pytest.mark.parametrize("days, expected", [
    (0, BIWEEKLY_NOT_YET), (7, BIWEEKLY_NOT_YET), (12, BIWEEKLY_NOT_YET),
    (13, None), (14, None), (21, None), (400, None),
])
def test_biweekly_needs_13_days_since_the_last_delivery(days, expected):
    edition = D("2026-11-23")
    assert due_reason("active", "biweekly", None, edition, edition - timedelta(days=days), None) == expected


def test_biweekly_without_any_delivery_is_due():
    assert reason("biweekly", edition="2026-11-23", last=None) is None


def test_biweekly_across_the_year_boundary():
    assert reason("biweekly", edition="2027-01-04", last="2026-12-28") == BIWEEKLY_NOT_YET
    assert reason("biweekly", edition="2027-01-11", last="2026-12-28") is None
    assert reason("biweekly", edition="2027-01-10", last="2026-12-28") is None   # 13 days: a moved edition
    assert reason("biweekly", edition="2027-01-09", last="2026-12-28") == BIWEEKLY_NOT_YET


def test_biweekly_over_a_year_of_weekly_editions_gets_every_other_one():
    sent, last, day = [], None, D("2026-11-02")
    for _ in range(52):
        if due_reason("active", "biweekly", None, day, last, None) is None:
            sent.append(day)
            last = day
        day += timedelta(days=7)
    assert len(sent) == 26
    assert all((b - a).days == 14 for a, b in zip(sent, sent[1:]))


# Monthly --------------------------------------------------------------------------------------

def test_monthly_gets_the_first_edition_of_each_month_across_the_year_boundary():
    assert reason("monthly", edition="2026-12-28", previous="2026-12-21") == MONTHLY_ALREADY
    assert reason("monthly", edition="2027-01-04", previous="2026-12-28") is None
    assert reason("monthly", edition="2027-01-11", previous="2027-01-04") == MONTHLY_ALREADY


def test_monthly_on_the_first_edition_of_a_template():
    assert reason("monthly", edition="2026-11-23", previous=None) is None


def test_monthly_with_a_template_on_the_first_tuesday():
    # A monthly template: every edition is the first of its month.
    firsts = ["2026-11-03", "2026-12-01", "2027-01-05", "2027-02-02"]
    for previous, edition in zip(firsts, firsts[1:]):
        assert reason("monthly", edition=edition, previous=previous) is None


def test_monthly_does_not_depend_on_the_last_delivery():
    assert reason("monthly", edition="2027-01-04", previous="2026-12-28", last="2027-01-01") is None


def test_monthly_over_a_year_of_weekly_editions_gets_one_per_month():
    sent, previous, day = [], None, D("2026-11-02")
    for _ in range(61):
        if due_reason("active", "monthly", None, day, None, previous) is None:
            sent.append(day)
        previous = day
        day += timedelta(days=7)
    months = [(d.year, d.month) for d in sent]
    assert len(months) == len(set(months)) == 14  # 2026-11 .. 2027-12
    assert all(d.day <= 7 for d in sent)


@given(
    st.sampled_from(list(Frequency)),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=800)),
    st.one_of(st.none(), st.integers(min_value=1, max_value=60)),
    st.one_of(st.none(), st.integers(min_value=-400, max_value=400)),
)
def test_properties(frequency, edition, last_ago, previous_ago, pause_offset):
    last = None if last_ago is None else edition - timedelta(days=last_ago)
    previous = None if previous_ago is None else edition - timedelta(days=previous_ago)
    paused_until = None if pause_offset is None else edition + timedelta(days=pause_offset)
    result = due_reason("active", frequency, paused_until, edition, last, previous)
    assert is_due("active", frequency, paused_until, edition, last, previous) == (result is None)
    if paused_until is not None and edition < paused_until:
        assert result == PAUSED
    elif frequency == Frequency.WEEKLY:
        assert result is None
    assert due_reason("unsubscribed", frequency, paused_until, edition, last, previous) == UNSUBSCRIBED

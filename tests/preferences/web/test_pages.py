"""The preference page: shown in the customer's language, saved with one consent event per
changed field, stale forms refused, invalid input written nowhere, the result said in words."""

from __future__ import annotations

import re
from datetime import date

import pytest

from preferences.links import Purpose
from test_pages_support import (  # noqa: F401  (site is a fixture)
    GROUPS, TESTCLIENT_HASH, as_form, catalogue, edit, form_fields, parse, site,
)


def summary(html: str) -> str:
    return re.sub(r"\s+", " ", re.search(r'id="summary">(.*?)</p>', html, re.S).group(1))


def test_page_in_german_for_a_german_customer(site):
    public_id = site.customer(locale="de")
    response = site.client.get(site.path(public_id))
    assert response.status_code == 200
    html = response.text
    assert '<html lang="de">' in html
    assert "Ihre Newsletter-Einstellungen" in html and "Hallo Anna," in html
    assert "Wöchentlich" in html and "Alle zwei Wochen" in html and "Monatlich" in html
    assert "2 Wochen pausieren" in html and 'type="date"' in html
    assert "Kinder" in html and "Von allem abmelden" in html
    assert summary(html) == "Zurzeit bekommen Sie unseren Newsletter wöchentlich, ab der Ausgabe vom 23. November."
    fields = form_fields(html, site.path(public_id))
    assert ("version", "1") in fields and ("frequency", "weekly") in fields and ("pause", "none") in fields
    # Checked = "I want these": nothing is excluded yet, so every group is ticked.
    assert sorted(v for k, v in fields if k == "groups") == sorted(GROUPS)
    assert sorted(v for k, v in fields if k == "shown") == sorted(GROUPS)
    assert ("locale", "de") in fields and dict(fields)["csrftoken"]
    # The pause can be set at most 12 months ahead, and not in the past.
    assert 'min="2026-11-23" max="2027-11-23"' in html


def test_page_in_english_for_an_english_customer(site):
    public_id = site.customer(locale="en", first_name="Ben")
    html = site.client.get(site.path(public_id)).text
    assert '<html lang="en">' in html
    assert "Your newsletter settings" in html and "Hello Ben," in html
    assert "Every two weeks" in html and "Pause for 4 weeks" in html and "Kids" in html
    assert "Unsubscribe from everything" in html
    assert summary(html) == "At the moment you get our newsletter weekly, starting with the edition of 23 November."


def test_the_page_language_can_be_switched_without_changing_the_customer(site):
    public_id = site.customer(locale="de")
    path = site.path(public_id)
    html = site.client.get(path).text
    assert f'href="{path}?lang=en"' in html and ">English<" in html
    english = site.client.get(f"{path}?lang=en").text
    assert '<html lang="en">' in english and f'href="{path}?lang=de"' in english
    # The form keeps the page language; the newsletter language stays the customer's own.
    assert f'action="{path}?lang=en"' in english and ("locale", "de") in form_fields(english, f"{path}?lang=en")
    assert '<html lang="de">' in site.client.get(f"{path}?lang=xx").text
    assert site.state(public_id)["locale"] == "de" and site.events(public_id) == []


def _save(site, public_id, path=None, **changes):
    path = path or site.path(public_id)
    page = site.client.get(path).text
    return site.client.post(path, data=as_form(edit(form_fields(page, path), **changes)))


def test_saving_changes_frequency_pause_and_groups_with_one_event_each(site):
    public_id = site.customer(locale="de")
    response = _save(site, public_id, frequency="monthly", pause="4w",
                     groups=["garden", "kitchen"])  # unticks outdoor and kids
    assert response.status_code == 200
    # Paused until 21 December; monthly gets the first edition of a month: 4 January.
    assert summary(response.text) == ("Sie bekommen unseren Newsletter jetzt monatlich, "
                                      "ab der Ausgabe vom 4. Januar 2027, ohne Outdoor und Kinder.")
    state = site.state(public_id)
    assert state["frequency"] == "monthly" and state["paused_until"] == date(2026, 12, 21)
    assert state["excluded_groups"] == ["kids", "outdoor"] and state["version"] == 2
    events = site.events(public_id)
    assert sorted(e.field for e in events) == ["excluded_groups", "frequency", "paused_until"]
    assert {e.channel for e in events} == {"page"} and {e.client_hash for e in events} == {TESTCLIENT_HASH}
    by_field = {e.field: e for e in events}
    assert (by_field["frequency"].old, by_field["frequency"].new) == ("weekly", "monthly")
    assert (by_field["paused_until"].old, by_field["paused_until"].new) == (None, "2026-12-21")
    assert (by_field["excluded_groups"].old, by_field["excluded_groups"].new) == ([], ["kids", "outdoor"])
    # The answer is the page again, at the new version, showing the new state.
    fields = form_fields(response.text, site.path(public_id))
    assert ("version", "2") in fields and ("frequency", "monthly") in fields and ("pause", "keep") in fields
    assert "Pause beibehalten: Newsletter wieder ab dem 21. Dezember" in response.text


def test_the_words_say_monthly_starting_with_the_edition_of(site):
    public_id = site.customer(locale="en")
    response = _save(site, public_id, frequency="monthly", groups=["garden", "kitchen"])
    assert summary(response.text) == ("You will now get our newsletter monthly, starting with the "
                                      "edition of 7 December, without Outdoor and Kids.")


@pytest.mark.parametrize("pause, until, first", [
    ("2w", "", "7 December"),
    ("8w", "", "18 January 2027"),
    ("date", "2027-02-10", "15 February 2027"),   # a Wednesday: the next edition is on Monday
    ("none", "2026-12-14", "14 December"),        # a typed date counts even if its radio was not ticked
])
def test_pause_choices(site, pause, until, first):
    public_id = site.customer(locale="en")
    response = _save(site, public_id, pause=pause, pause_until=until)
    assert response.status_code == 200
    assert summary(response.text) == f"You will now get our newsletter weekly, starting with the edition of {first}."
    assert [e.field for e in site.events(public_id)] == ["paused_until"]


def test_ending_a_pause(site):
    public_id = site.customer(locale="en")
    _save(site, public_id, pause="2w")
    response = _save(site, public_id, pause="none")
    assert "starting with the edition of 23 November" in summary(response.text)
    assert site.state(public_id)["paused_until"] is None
    assert [(e.field, e.new) for e in site.events(public_id)] == [("paused_until", "2026-12-07"), ("paused_until", None)]


def test_saving_an_unchanged_form_writes_nothing(site):
    public_id = site.customer(locale="en")
    response = _save(site, public_id)
    assert response.status_code == 200 and "Nothing to change" in response.text
    assert site.events(public_id) == [] and site.state(public_id)["version"] == 1


def test_changing_the_language(site):
    public_id = site.customer(locale="de")
    response = _save(site, public_id, locale="en")
    assert '<html lang="en">' in response.text  # the answer already speaks the new language
    assert [(e.field, e.old, e.new) for e in site.events(public_id)] == [("locale", "de", "en")]


def test_a_stale_form_gets_409_and_changes_nothing(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id)
    old_page = site.client.get(path).text
    assert _save(site, public_id, frequency="biweekly").status_code == 200  # another tab saved first
    before = (site.state(public_id), len(site.events(public_id)))
    response = site.client.post(path, data=as_form(edit(form_fields(old_page, path), frequency="monthly",
                                                        groups=["garden"])))
    assert response.status_code == 409
    assert "This page was out of date" in response.text
    assert (site.state(public_id), len(site.events(public_id))) == before
    # Here is the current state, at the current version.
    fields = form_fields(response.text, path)
    assert ("frequency", "biweekly") in fields and ("version", "2") in fields


def test_a_form_without_version_changes_nothing(site):
    public_id = site.customer(locale="en")
    response = _save(site, public_id, version=None, frequency="monthly")
    assert response.status_code == 400 and "The form was incomplete" in response.text
    assert site.events(public_id) == []


@pytest.mark.parametrize("changes, field, message", [
    ({"pause": "date", "pause_until": "2027-11-24"}, "pause", "Please choose a day from today until 23 November 2027."),
    ({"pause": "date", "pause_until": "2026-11-22"}, "pause", "Please choose a day from today until 23 November 2027."),
    ({"pause": "date", "pause_until": "soon"}, "pause", "Please choose a day from today until 23 November 2027."),
    ({"pause": "date", "pause_until": ""}, "pause", "Please enter the day from which you want newsletters again."),
    ({"pause": "52w"}, "pause", "Please choose one of the offered pauses."),
    ({"groups": ["garden", "bogus"]}, "groups", "The form listed a product group we do not offer."),
    ({"shown": ["outdoor", "kids", "garden", "kitchen", "bogus"]}, "groups", "we do not offer"),
    ({"frequency": "daily"}, "frequency", "Please choose one of the offered frequencies."),
    ({"locale": "fr"}, "locale", "Please choose one of the offered languages."),
])
def test_invalid_input_gets_422_with_the_field_error_and_writes_nothing(site, changes, field, message):
    public_id = site.customer(locale="en")
    before = site.state(public_id)
    # Valid changes in the same form are not saved either.
    response = _save(site, public_id, **{"frequency": "monthly", **changes})
    assert response.status_code == 422
    assert "Nothing was saved: please check your entries" in response.text
    assert f'id="{field}-error"' in response.text and message in response.text
    assert site.state(public_id) == before and site.events(public_id) == []
    # The form shows what was submitted, to be corrected.
    assert 'value="monthly" checked' in response.text or changes.get("frequency") == "daily"


def test_every_bad_field_is_reported_at_once(site):
    public_id = site.customer(locale="de")
    response = _save(site, public_id, frequency="daily", pause="date", pause_until="2030-01-01",
                     groups=["bogus"])
    assert response.status_code == 422
    for field in ("frequency", "pause", "groups"):
        assert f'id="{field}-error"' in response.text
    assert "Bitte wählen Sie einen Tag zwischen heute und dem 23. November 2027." in response.text


def test_a_group_added_after_the_page_was_rendered_keeps_the_customers_state(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id)
    page = site.client.get(path).text
    site.set_catalogue(catalogue({**GROUPS, "pets": {"de": "Tiere", "en": "Pets"}}))
    response = site.client.post(path, data=as_form(edit(form_fields(page, path),
                                                        groups=["kids", "garden", "kitchen"])))
    assert response.status_code == 200
    assert site.state(public_id)["excluded_groups"] == ["outdoor"]  # pets: still wanted
    assert "Pets" in response.text  # and offered from now on


def test_an_excluded_group_the_page_did_not_show_stays_excluded(site):
    public_id = site.customer(locale="en")
    _save(site, public_id, groups=["outdoor", "kids", "garden"])  # excludes kitchen
    site.set_catalogue(catalogue({k: v for k, v in GROUPS.items() if k != "kitchen"}))
    response = _save(site, public_id, groups=["kids", "garden"])  # now also excludes outdoor
    assert response.status_code == 200
    assert site.state(public_id)["excluded_groups"] == ["kitchen", "outdoor"]
    assert summary(response.text).endswith("without Outdoor.")  # a group no longer offered is not named


def test_no_pause_with_an_expired_pause_is_no_change(site):
    public_id = site.customer(locale="en")
    _save(site, public_id, pause="2w")  # until 7 December
    site.today = date(2026, 12, 14)
    html = site.client.get(site.path(public_id)).text
    assert 'value="none" checked' in html and 'value="keep"' not in html
    response = _save(site, public_id, pause="none")
    assert "Nothing to change" in response.text and "edition of 14 December" in summary(response.text)
    assert site.state(public_id)["paused_until"] == date(2026, 12, 7)
    assert len(site.events(public_id)) == 1


def test_all_urls_on_the_page_are_tokens_only(site):
    public_id = site.customer(locale="en")
    html = site.client.get(site.path(public_id)).text
    urls = parse(html).urls
    assert urls and all("@" not in url and "example.com" not in url for url in urls)
    token = re.escape(site.path(public_id).rsplit("/", 1)[1])
    for url in urls:
        assert re.fullmatch(rf"/preferences/{token}(/unsubscribe)?(\?lang=(de|en))?", url), url
    assert "anna1@example.com" not in html  # nor on the page at all
    assert Purpose.PREFERENCES.path in site.path(public_id)


def test_a_save_that_loses_the_race_to_another_request_is_a_409(site, monkeypatch):
    from preferences import store
    from preferences.web import pages
    from preferences.models import Channel

    public_id = site.customer(locale="en")
    read = pages.read_snapshot

    def another_tab_saves_in_between(centre, token, purpose):
        snap = read(centre, token, purpose)  # this request's read: version 1
        with site.engine.begin() as conn:  # then another request commits version 2
            store.save_choices(conn, snap.customer_id, {"frequency": "biweekly"}, Channel.PAGE, 1,
                               today=site.today, known_groups=site.catalogue.product_groups,
                               locales=site.catalogue.locales)
        return snap

    path = site.path(public_id)
    page = site.client.get(path).text
    monkeypatch.setattr(pages, "read_snapshot", another_tab_saves_in_between)
    response = site.client.post(path, data=as_form(edit(form_fields(page, path), frequency="monthly")))
    assert response.status_code == 409 and "This page was out of date" in response.text
    assert "every two weeks" in response.text  # the state now, as the other request left it
    assert [(e.field, e.new) for e in site.events(public_id)] == [("frequency", "biweekly")]
    assert site.state(public_id)["version"] == 2


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # SQLite's database-wide write lock
def test_a_save_waits_for_another_process_writing(site):
    import sqlite3
    import threading
    import time

    public_id = site.customer(locale="en")
    path = site.path(public_id)
    page = site.client.get(path).text
    other_process = sqlite3.connect(site.engine.url.database, isolation_level=None, check_same_thread=False)
    other_process.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.4, lambda: other_process.execute("ROLLBACK"))
    started = time.monotonic()
    release.start()
    try:
        response = site.client.post(path, data=as_form(edit(form_fields(page, path), frequency="monthly")))
    finally:
        release.join()
        other_process.close()
    assert time.monotonic() - started >= 0.4  # it waited for the lock (in a thread) ...
    assert response.status_code == 200 and site.state(public_id)["frequency"] == "monthly"  # ... and saved


def test_a_customer_deleted_while_saving_gets_the_not_found_page(site, monkeypatch):
    from preferences.web import pages
    from preferences.models import consent_event_table, customer_table, preference_table

    public_id = site.customer(locale="en")
    path = site.path(public_id)
    page = site.client.get(path).text
    read = pages.read_snapshot

    def deleted_in_between(centre, token, purpose):
        snap = read(centre, token, purpose)
        with site.engine.begin() as conn:  # the operator erases the customer meanwhile
            for table, column in ((consent_event_table, "customer_id"), (preference_table, "customer_id"),
                                  (customer_table, "id")):
                conn.execute(table.delete().where(table.c[column] == snap.customer_id))
        return snap

    monkeypatch.setattr(pages, "read_snapshot", deleted_in_between)
    response = site.client.post(path, data=as_form(edit(form_fields(page, path), frequency="monthly")))
    assert response.status_code == 404 and "Traceback" not in response.text

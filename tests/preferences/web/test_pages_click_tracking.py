""""Measure which links I click": a checkbox of the preference page, ticked by default; unticking
it is one consent event, ticking it again another; the form's other choices are untouched."""

from __future__ import annotations

from test_pages_support import as_form, edit, form_fields, site  # noqa: F401  (site is a fixture)


def page_fields(site, public_id, lang=None):
    path = site.path(public_id)
    html = site.client.get(path + (f"?lang={lang}" if lang else "")).text
    return html, form_fields(html, path + (f"?lang={lang}" if lang else ""))


def test_the_checkbox_is_ticked_by_default_in_both_languages(site):
    public_id = site.customer(locale="de")
    html, fields = page_fields(site, public_id)
    assert "Klicks messen" in html and "Messen, welche Links ich im Newsletter anklicke" in html
    assert ("measure", "1") in fields and ("measure_shown", "1") in fields
    english, _ = page_fields(site, public_id, "en")
    assert "Measuring clicks" in english and "Measure which links I click in the newsletter" in english
    assert 'type="checkbox" name="measure"' in html and "<script" not in html


def test_unticking_it_is_saved_with_one_consent_event(site):
    public_id = site.customer(locale="de")
    path = site.path(public_id)
    _, fields = page_fields(site, public_id)
    response = site.client.post(path, data=as_form(edit(fields, measure=None)))
    assert response.status_code == 200
    state = site.state(public_id)
    assert state["click_tracking"] is False and state["version"] == 2 and state["frequency"] == "weekly"
    events = site.events(public_id)
    assert [(e.field, e.old, e.new, e.channel) for e in events] == [("click_tracking", True, False, "page")]
    # The page shows it unticked now; saving it unchanged changes nothing.
    again = form_fields(response.text, path)
    assert ("measure", "1") not in again and ("measure_shown", "1") in again
    assert site.client.post(path, data=as_form(again)).status_code == 200
    assert len(site.events(public_id)) == 1
    # Ticked again: measured again, a second event.
    site.client.post(path, data=as_form(edit(again, measure="1")))
    assert site.state(public_id)["click_tracking"] is True
    assert [(e.old, e.new) for e in site.events(public_id)] == [(True, False), (False, True)]


def test_a_form_without_the_checkbox_leaves_it_as_it_was(site):
    public_id = site.customer(locale="de")
    path = site.path(public_id)
    _, fields = page_fields(site, public_id)
    site.client.post(path, data=as_form(edit(fields, measure=None, measure_shown=None, frequency="monthly")))
    state = site.state(public_id)
    assert state["click_tracking"] is True and state["frequency"] == "monthly"

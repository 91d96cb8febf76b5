"""template.yaml's ``trigger:``: a template sent on an event (the welcome mail) instead of on a
schedule, each mistake at its line; and the days its editions are about."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from content_tree import content_errors, write_tree  # noqa: F401
from service.content.check import check_content
from service.content.schedule import Trigger

WELCOME = """\
    name: Welcome
    list_id: welcome.shop.example
    sender: {{name: Shop, email: news@shop.example}}
    subject: {{de: "Willkommen", en: "Welcome"}}
    first_name_fallback: {{de: Kundin, en: there}}
    {when}
    slots:
      hero: {{teams: [brand], max: 1, required: true, fallback: brand/hero}}
    """
LAYOUT = '<mjml><mj-body>{{ slot("hero") }}</mj-body></mjml>\n'


def welcome(when: str) -> dict[str, str]:
    return {"templates/welcome/template.yaml": WELCOME.format(when=when),
            "templates/welcome/layout.mjml": LAYOUT}


def test_a_trigger_makes_a_template_sent_on_an_event_with_an_edition_every_day(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = write_tree(tmp_path, welcome("trigger: {event: confirmed, after: 3d, time: \"10:30\", max_late: 2d}"))
    content = check_content(root).content
    template = content.templates["welcome"]
    assert template.trigger == Trigger("confirmed", 3, time(10, 30), "Europe/Berlin", 2)
    assert set(content.triggered()) == {"welcome"} and set(content.newsletters()) == {"weekly"}
    assert content.main_template().id == "weekly"
    schedule = template.schedule
    assert all(schedule.is_edition(date(2026, 12, d)) for d in range(1, 32))
    assert schedule.previous_edition(date(2026, 12, 1)) == date(2026, 11, 30)
    assert schedule.starts_at(date(2026, 12, 4)).hour == 10  # a later step: on its day, at its time


def test_the_first_step_is_due_from_the_start_of_its_day_and_late_after_max_late():
    first = Trigger(after=0, max_late=3)
    assert first.schedule.starts_at(date(2026, 12, 4)).time() == time(0, 0)
    start, end = first.event_window(date(2026, 12, 4))
    assert (start.isoformat(), end.isoformat()) == ("2026-12-04T00:00:00+01:00", "2026-12-05T00:00:00+01:00")
    assert Trigger(after=10).event_day(date(2026, 12, 14)) == date(2026, 12, 4)
    # Lateness counts whole days in the trigger's time zone: 23:30 UTC is already the next day in Berlin.
    assert not first.too_late(date(2026, 12, 1), datetime(2026, 12, 4, 22, 0, tzinfo=timezone.utc))
    assert first.too_late(date(2026, 12, 1), datetime(2026, 12, 4, 23, 30, tzinfo=timezone.utc))


@pytest.mark.parametrize("when, expected", [
    ("trigger: {event: ordered}", "template.yaml:6: event 'ordered' must be one of confirmed"),
    ("trigger: {after: three days}", "template.yaml:6: after 'three days' must be a number of days like 3d"),
    ("trigger: {after: 3d, max_late: 0d}", "template.yaml:6: max_late must be at least 1d"),
    ("trigger: {after: 3d, time: noon}", "template.yaml:6: time 'noon' must look like \"07:00\""),
    ("trigger: {after: 1d, when: later}", "template.yaml:6: unknown key 'when'"),
    ("trigger: {after: 1d}\nschedule: {cadence: weekly}", "template.yaml:7: a template has a 'schedule' or a 'trigger', not both"),
])
def test_every_mistake_in_a_trigger_is_reported_at_its_line(content_errors, when, expected):  # noqa: F811
    errors = content_errors(welcome(when.replace("\n", "\n    ")))
    assert any(e.startswith("content/templates/welcome/") and expected in e for e in errors), errors


def test_a_template_without_schedule_or_trigger_says_it_needs_one(content_errors):  # noqa: F811
    errors = content_errors(welcome(""))
    assert any("missing required key 'schedule'" in e and "or 'trigger'" in e for e in errors), errors

"""template.yaml's ``digest:``: the best-of editions of a weekly newsletter's slower readers,
read into the model, and each mistake in it reported at its line."""

from __future__ import annotations

import textwrap

import pytest

from content_tree import FILES, content_errors, write_tree  # noqa: F401
from service.content.check import check_content
from service.content.model import Digest

WEEKLY = textwrap.dedent(FILES["templates/weekly/template.yaml"])  # 10 lines: the digest goes at 11


def weekly(digest: str) -> dict[str, str]:
    return {"templates/weekly/template.yaml": WEEKLY + digest}


def test_one_entry_or_a_list_of_them_declares_the_digests_of_a_weekly_template(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = write_tree(tmp_path, weekly("digest:\n  - {for: [monthly], window: 4w, rank: click_rate, "
                                       "min_recipients: 50}\n  - {for: biweekly, window: 2w}\n"))
    result = check_content(root)
    assert result.errors == []
    template = result.content.templates["weekly"]
    assert template.digests == (Digest(("monthly",), 4, "click_rate", 50), Digest(("biweekly",), 2, "click_rate", 200))
    assert template.digest_for("monthly").name == "best of 4w"
    assert template.digest_for("biweekly").weeks == 2 and template.digest_for("weekly") is None
    root = write_tree(tmp_path, weekly("digest: {for: [monthly, biweekly], window: 3w}\n"))
    assert check_content(root).content.templates["weekly"].digest_for("biweekly").weeks == 3


@pytest.mark.parametrize("digest, expected", [
    ("digest: {for: [yearly], window: 4w}", "template.yaml:11: digest for 'yearly': one of biweekly, monthly"),
    ("digest: {for: [weekly], window: 4w}", "template.yaml:11: digest for 'weekly': one of biweekly, monthly "
                                            "(weekly readers get every edition as it is)"),
    ("digest:\n  for:\n    - monthly\n    - fortnightly\n  window: 4w",
     "template.yaml:14: digest for 'fortnightly'"),
    ("digest: {for: [monthly], window: 4 weeks}", "template.yaml:11: window '4 weeks' must be a number of weeks"),
    ("digest: {for: [monthly], window: 0w}", "template.yaml:11: window '0w' must be a number of weeks from 1w"),
    ("digest: {for: [monthly], window: 13w}", "template.yaml:11: window '13w'"),
    ("digest: {for: [monthly]}", "template.yaml:11: a digest needs 'window: 4w'"),
    ("digest: {window: 4w}", "template.yaml:11: a digest needs 'for: [...]'"),
    ("digest:\n  for: [monthly]\n  window: 4w\n  rank: opens", "template.yaml:14: rank 'opens': one of click_rate"),
    ("digest:\n  for: [monthly]\n  window: 4w\n  min_recipients: -5",
     "template.yaml:14: 'min_recipients' must be at least 0, got -5"),
    ("digest: {for: [monthly], window: 4w, best: true}", "template.yaml:11: unknown key 'best'"),
    ("digest:\n  - {for: [monthly], window: 4w}\n  - {for: [monthly], window: 2w}",
     "template.yaml:13: digest for 'monthly' is declared twice (first at line 12)"),
    ("digest: monthly", "template.yaml:11: expected a digest entry"),
    ("digest:", "template.yaml:11: 'digest' has no value"),
])
def test_every_mistake_in_a_digest_is_reported_at_its_line(content_errors, digest, expected):  # noqa: F811
    errors = content_errors(weekly(digest + "\n"))
    assert any(e.startswith("content/templates/weekly/") and expected in e for e in errors), errors


def test_a_digest_on_a_template_without_a_weekly_cadence_is_an_error(content_errors):  # noqa: F811
    monthly = WEEKLY.replace("cadence: weekly", "cadence: monthly")
    errors = content_errors({"templates/weekly/template.yaml": monthly + "digest: {for: [monthly], window: 4w}\n"})
    assert ("content/templates/weekly/template.yaml:11: a digest is for the readers of a weekly newsletter who "
            "chose a slower pace; this template has a monthly cadence (schedule: cadence: weekly)") in errors


def test_the_demo_weekly_declares_a_monthly_and_a_biweekly_digest():
    from repo_paths import ROOT
    template = check_content(ROOT / "content").content.templates["weekly"]
    assert [(d.paces, d.weeks) for d in template.digests] == [(("monthly",), 4), (("biweekly",), 2)]

"""The results pages: the figures of a real send and real clicks, staff only, bad parameters
answered with a readable 400, CSV downloads that match the tables and cannot run as formulas,
charts that are SVG with no script and no outside reference."""

from __future__ import annotations

import base64
import csv
import io
import re
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from bounce_samples import report_about
from preferences.mail.bounce_mail import read_bounce_mail
from preferences.suppression.recording import SoftBounceRule
from preferences.suppression.return_path import ReturnPath
from service.lifecycle.bounces import record_batch
from service.results.export import csv_text
from service.results.figures import Figures, Period, results_by
from service.results.refresh import refresh
from service.settings import Settings
from service.web.app import create_app
from send_fixtures import (EDITION, add_customers, age_deliveries, db_url, engine,  # noqa: F401
                           migrated_postgres_url, send_demo_edition, settings_for)

BASE = "http://127.0.0.1:8000"
TRACKED = re.compile(re.escape(BASE) + r"(/r/~?[A-Za-z0-9_.-]+/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22})")
AUTH = {"Authorization": "Basic " + base64.b64encode(b"staff:results-pw").decode()}


@pytest.fixture
def site(engine, db_url, tmp_path):
    """24 customers sent the demo edition; 8 of them clicked a link; the app with a password."""
    add_customers(engine, 24)
    messages, _ = send_demo_edition(engine, db_url, tmp_path / "outbox")
    age_deliveries(engine)
    app = create_app(replace(settings_for(db_url), preview_password="results-pw"))
    with TestClient(app, base_url=BASE) as client:
        for message in messages[:8]:
            link = TRACKED.findall(message.get_body(("html",)).get_content())[1]
            assert client.get(link, follow_redirects=False).status_code == 302
        app.state.clicks.flush()
        refresh(engine)
        yield client


def figures(engine, by: str, team: str | None = None) -> list[Figures]:
    with engine.connect() as conn:
        return results_by(conn, Period("weekly", EDITION, EDITION), by, team)


def test_the_page_shows_the_editions_blocks_teams_and_segments(site, engine):
    response = site.get("/results", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store" and "default-src 'none'" in \
        response.headers["content-security-policy"]
    [edition] = figures(engine, "edition")
    assert (edition.recipients, edition.clickers) == (24, 8)
    row = re.search(r"<tr class=\"chosen\">(.*?)</tr>", response.text, re.S).group(1)
    assert "2026-11-23" in row and ">24<" in row and ">8<" in row and "33.3%" in row
    best = figures(engine, "block")[0]
    assert best.label in response.text and f"{best.click_rate:.1%}" in response.text
    for team in {f.team for f in figures(engine, "block") if f.team}:
        assert f'href="{BASE}/results/team/{team}?' in response.text.replace("&amp;", "&")


def test_a_team_page_lists_only_that_teams_blocks_and_links(site, engine):
    team = figures(engine, "block")[0].team
    response = site.get(f"/results/team/{team}", headers=AUTH)
    assert response.status_code == 200
    keys = re.findall(r'<code class="muted">([a-z-]+/[a-z0-9.-]+)</code>', response.text)
    assert keys and all(key.startswith(team + "/") for key in keys)
    assert set(keys) == {f.key for f in figures(engine, "block", team)}
    assert site.get("/results/team/nobody", headers=AUTH).status_code == 404


@pytest.mark.parametrize("by", ["edition", "block", "team", "segment", "link", "product-group"])
def test_the_csv_downloads_are_the_tables_figures(site, engine, by):
    response = site.get("/results.csv", params={"by": by}, headers=AUTH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="results-weekly-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = figures(engine, by)
    assert [row["key"] for row in rows] == [f.key for f in expected]
    assert [int(row["clickers"]) for row in rows] == [f.clickers for f in expected]


def outbox_messages(folder) -> list:
    import mailbox
    from email import message_from_bytes, policy

    return sorted((message_from_bytes(m.as_bytes(), policy=policy.default) for m in mailbox.Maildir(folder)),
                  key=lambda m: m["To"].addresses[0].addr_spec)


def record_reports_about(engine, reports: list[tuple[object, str]]) -> None:
    """Each (sent message, kind) reported in a mail of its own, read and recorded as
    ``newsletter bounces process`` does."""
    read = [r for n, (message, kind) in enumerate(reports) for r in read_bounce_mail(report_about(message, kind, n))]
    record_batch(engine, read, ReturnPath(Settings().bounce_address, Settings().link_keys), SoftBounceRule())


def test_without_reports_the_rates_are_zero_and_nothing_warns(site):
    html = site.get("/results", headers=AUTH).text
    row = re.search(r"<tr class=\"chosen\">(.*?)</tr>", html, re.S).group(1)
    assert row.count("0.00%<br><span class=\"muted\">0 of 24</span>") == 3
    assert "Warning" not in html and "over 2%" not in html


def test_the_page_warns_in_words_of_each_limit_passed(site, engine, tmp_path):
    messages = outbox_messages(tmp_path / "outbox")
    # 1 hard bounce and 1 complaint of 24 (4.17% each), 2 soft bounces (never warned), one report twice.
    record_reports_about(engine, [(messages[0], "hard"), (messages[1], "complaint"), (messages[2], "soft"),
                                  (messages[3], "soft")])
    record_reports_about(engine, [(messages[1], "complaint")])  # another report, the same address
    html = site.get("/results", headers=AUTH).text
    alert = re.search(r'<section class="banner bad" role="alert".*?</section>', html, re.S).group(0)
    assert "Warning: mailbox providers may block these mails" in alert
    assert "Edition 2026-11-23:</strong> complaint rate 4.17% is over the limit of 0.1%" in alert
    assert "hard-bounce rate 4.17% is over the limit of 2%" in alert and "check its source" in alert
    assert "soft" not in alert
    row = re.search(r"<tr class=\"chosen\">(.*?)</tr>", html, re.S).group(1)
    assert '<td class="over">4.17% <strong>over 2%</strong><br><span class="muted">1 of 24</span>' in row
    assert '<td class="over">4.17% <strong>over 0.1%</strong><br><span class="muted">1 of 24</span>' in row
    assert "<td>8.33%<br><span class=\"muted\">2 of 24</span></td>" in row
    [line] = list(csv.DictReader(io.StringIO(site.get("/results.csv", params={"by": "edition"}, headers=AUTH).text)))
    assert (line["sent"], line["hard_bounces"], line["complaints"], line["soft_bounces"]) == ("24", "1", "1", "2")
    assert (line["complaint_rate"], line["warnings"]) == ("0.041667", "complaint-rate hard-bounce-rate")


def test_a_csv_cell_never_runs_as_a_formula():
    hostile = Figures(key="=HYPERLINK(\"http://evil\")", label="+1", team="@team", recipients=1, clickers=1)
    rows = list(csv.reader(io.StringIO(csv_text([hostile], "block"))))
    assert rows[1][:3] == ["'=HYPERLINK(\"http://evil\")", "'+1", "'@team"]


def test_the_charts_are_svg_without_script_or_outside_references(site):
    html = site.get("/results", headers=AUTH).text
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 4  # churn and blocks (one edition: no trend yet), for desktop and phone
    for svg in svgs:
        assert "<script" not in svg and "<title>" in svg and 'role="img"' in svg
        assert not re.search(r"""(?:href|src)\s*=\s*["']\s*(?:https?:|//)""", svg)


def test_staff_only(site, engine):
    assert site.get("/results").status_code == 401  # a password is set: ask for it
    assert site.get("/results.csv?by=block").status_code == 401
    assert site.get("/results", headers={"Authorization": "Basic " + base64.b64encode(b"x:wrong").decode()}
                    ).status_code == 401


@pytest.mark.parametrize("query, message", [
    ("template=nosuch", "No results for a template"),
    ("from=2026-12-01&to=2026-11-01", "is after"),
    ("from=yesterday", "must be a date"),
    ("edition=2026-11-30", "has no results"),
    ("colour=red", "Unknown parameter"),
])
def test_bad_parameters_are_a_readable_400(site, query, message):
    response = site.get(f"/results?{query}", headers=AUTH)
    assert response.status_code == 400 and message in response.text


def test_an_unknown_csv_dimension_is_400(site):
    response = site.get("/results.csv?by=colour", headers=AUTH)
    assert response.status_code == 400 and "by= must be one of" in response.text


def test_before_any_send_the_page_says_what_to_do(db_url):
    with TestClient(create_app(settings_for(db_url)), base_url="http://127.0.0.1:8000",
                    client=("127.0.0.1", 5000)) as client:
        response = client.get("/results")
    assert response.status_code == 200 and "newsletter results refresh" in response.text
    assert "Never refreshed" in response.text


def test_without_a_password_only_this_machine_sees_the_results(db_url):
    app = create_app(settings_for(db_url))  # no NEWSLETTER_PREVIEW_PASSWORD
    with TestClient(app, base_url=BASE) as elsewhere:  # Starlette's test client: not a local address
        assert elsewhere.get("/results").status_code == 403
        assert elsewhere.get("/results.csv?by=block").status_code == 403
    with TestClient(app, base_url=BASE, client=("127.0.0.1", 5000)) as here:
        assert here.get("/results").status_code == 200
        assert here.get("/results", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403

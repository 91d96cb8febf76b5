"""`newsletter results`: the figures in a table, CSV and JSON; refresh and prune; and the demo's
simulated readers, whose clicks go through the real redirect over HTTP."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from service.cli.main import app
from service.results.tables import SWEEP, click
from send_fixtures import EDITION, add_customers, age_deliveries, cli_db_url, engine, send_demo_edition  # noqa: F401

runner = CliRunner()


@pytest.fixture
def db_url(cli_db_url):
    return cli_db_url


@pytest.fixture
def outbox(engine, db_url, tmp_path):
    """The demo edition sent to 60 customers, an hour ago, into a Maildir."""
    add_customers(engine, 60)
    send_demo_edition(engine, db_url, tmp_path / "outbox")
    age_deliveries(engine)
    return tmp_path / "outbox"


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_demo_readers_click_through_the_redirect_and_the_results_count_them(outbox, engine):
    result = invoke("results", "demo-clicks", "--from", f"maildir:{outbox}")
    assert result.exit_code == 0, result.output
    said = re.search(r"demo readers: (\d+) clicks from \d+ messages, (\d+) link-scanner clicks", result.output)
    assert said and "results refreshed" in result.output
    readers, scanners = int(said.group(1)), int(said.group(2))
    with engine.connect() as conn:
        recorded = conn.execute(select(func.count()).select_from(click)).scalar_one()
        verdicts = dict(conn.execute(select(click.c.verdict, func.count()).group_by(click.c.verdict)).all())
    assert recorded > 0 and None not in verdicts  # every click written and judged
    shown = json.loads(invoke("results", "weekly", "--date", EDITION.isoformat(), "--format", "json").output)
    [edition] = shown["rows"]
    assert edition["delivered"] == 60
    # Readers click one or two links an hour after delivery: people; gateways sweep: machines.
    assert (edition["clicks"], edition["machine_clicks"]) == (readers, scanners) == \
        (verdicts.get("human", 0), verdicts.get(SWEEP, 0))
    assert recorded == readers + scanners > 0
    again = invoke("results", "demo-clicks", "--from", f"maildir:{outbox}")  # the same readers again
    assert again.exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(click)).scalar_one() == 2 * recorded


def test_the_figures_as_table_csv_and_json(outbox):
    assert invoke("results", "demo-clicks", "--from", f"maildir:{outbox}").exit_code == 0
    table = invoke("results", "weekly", "--by", "block")
    assert table.exit_code == 0 and "weekly 2026-11-23 by block" in table.output
    rows = list(csv.DictReader(io.StringIO(invoke("results", "weekly", "--by", "team", "--format", "csv").output)))
    assert {row["key"] for row in rows} >= {"layout", "offers", "advice"}
    assert all(int(row["recipients"]) <= 60 for row in rows)
    by_block = json.loads(invoke("results", "show", "weekly", "--by", "block", "--team", "offers",
                                 "--format", "json").output)
    assert by_block["rows"] and all(row["team"] == "offers" for row in by_block["rows"])
    rates = [row["click_rate"] for row in by_block["rows"]]
    assert rates == sorted(rates, reverse=True)  # ranked


def test_an_edition_over_a_limit_gets_a_warning_line(outbox, tmp_path):
    import mailbox
    from email import message_from_bytes, policy

    from bounce_samples import report_about

    assert invoke("results", "refresh").exit_code == 0
    quiet = invoke("results", "weekly")
    assert quiet.exit_code == 0 and "0.00%" in quiet.output and "warning" not in quiet.output
    sent = sorted((message_from_bytes(m.as_bytes(), policy=policy.default) for m in mailbox.Maildir(outbox)),
                  key=lambda m: str(m["To"]))
    bounces = mailbox.Maildir(tmp_path / "bounces", create=True)
    # Of 60: a hard bounce (1.67%, under 2%), a complaint (1.67%, over 0.1%), 3 soft bounces.
    for n, (message, kind) in enumerate([(sent[0], "hard"), (sent[1], "complaint"), (sent[2], "soft"),
                                         (sent[3], "soft"), (sent[4], "soft")]):
        bounces.add(report_about(message, kind, n))
    assert invoke("bounces", "process", "--from", f"maildir:{tmp_path / 'bounces'}").exit_code == 0
    shown = invoke("results", "weekly")
    assert shown.exit_code == 0  # a report, not a gate
    [warning] = [line for line in shown.output.splitlines() if line.startswith("warning:")]
    assert warning.startswith("warning: weekly 2026-11-23: complaint rate 1.67% is over the limit of 0.1%")
    assert "hard-bounce" not in shown.output.split("warning:")[1]
    [row] = json.loads(invoke("results", "weekly", "--format", "json").output)["rows"]
    assert (row["sent"], row["hard_bounces"], row["complaints"], row["soft_bounces"], row["warnings"]) == \
        (60, 1, 1, 3, ["complaint-rate"])
    bounces.add(report_about(sent[5], "hard", 9))  # 2 of 60: 3.33%
    assert invoke("bounces", "process", "--from", f"maildir:{tmp_path / 'bounces'}").exit_code == 0
    lines = [line for line in invoke("results", "weekly", "--by", "block").output.splitlines()
             if line.startswith("warning:")]
    assert len(lines) == 2 and "hard-bounce rate 3.33% is over the limit of 2%" in lines[1]


@pytest.mark.parametrize("args, message", [
    (("--by", "colour"), "--by must be one of"),
    (("--format", "xml"), "--format must be"),
    (("--from", "2026-12-01", "--to", "2026-11-01"), "is after --to"),
    (("--date", "2026-11-23", "--from", "2026-11-01"), "not both"),
    (("--date", "23.11.2026"), "not a date"),
])
def test_bad_usage_is_exit_2_with_a_message(db_url, args, message):
    result = runner.invoke(app, ["results", "weekly", *args])
    assert result.exit_code == 2 and message in result.output


def test_no_results_yet_says_what_to_do(db_url):
    result = invoke("results", "weekly")
    assert result.exit_code == 0 and "newsletter results refresh" in result.output


def test_prune_deletes_the_clicks_of_old_editions_and_keeps_their_rollups(outbox, engine, monkeypatch):
    assert invoke("results", "demo-clicks", "--from", f"maildir:{outbox}").exit_code == 0
    before = json.loads(invoke("results", "weekly", "--format", "json").output)["rows"]
    days = (date.today() - EDITION).days
    monkeypatch.setenv("NEWSLETTER_RESULTS_RETENTION_DAYS", str(days + 1))
    assert "pruned 0 clicks" in invoke("results", "prune").output
    monkeypatch.setenv("NEWSLETTER_RESULTS_RETENTION_DAYS", str(max(1, days - 1)))
    assert "pruned 0 clicks" not in invoke("results", "prune").output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(click)).scalar_one() == 0
    assert invoke("results", "refresh", "--all").exit_code == 0  # a closed edition is not rewritten
    assert json.loads(invoke("results", "weekly", "--format", "json").output)["rows"] == before


def test_a_broken_database_is_exit_1(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["results", "refresh"])
    assert result.exit_code == 1 and "newsletter db upgrade" in result.output

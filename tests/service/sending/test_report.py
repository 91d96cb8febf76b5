"""The report adds up to the audience: the customers a run has no ledger row for (unsubscribed,
pending, active ones added later or past a --limit) are counted too (issue 10.24)."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from service.cli.main import app
from service.sending.report import Report
from send_fixtures import CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url  # noqa: F401


def _audience(engine) -> None:
    """10 active customers (2 of them paused), 3 unsubscribed, 2 pending: 15 in all."""
    add_customers(engine, 10, paused_until=lambda n: date(2027, 1, 1) if n in (3, 7) else None)
    add_customers(engine, 5, status=lambda n: "unsubscribed" if n <= 13 else "pending")


def test_the_report_of_a_run_and_of_newsletter_report_add_up_to_the_audience(db_url, engine, tmp_path, monkeypatch):
    _audience(engine)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    runner = CliRunner()
    box = f"maildir:{tmp_path / 'outbox'}"
    day = ["weekly", "--date", EDITION.isoformat()]
    dry = runner.invoke(app, ["send", *day, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "customers 15  due 8\n" in dry.output
    assert "skipped 7: unsubscribed 3, paused 2, pending 2" in dry.output
    limited = runner.invoke(app, ["send", *day, "--to", box, "--workers", "0", "--limit", "3"])
    assert limited.exit_code == 0, limited.output
    # 3 due sent, and the plan went past one paused customer to find them; 4 active not reached.
    assert "customers 15  due 3  sent 3  failed 0  unfinished 0" in limited.output
    assert "not planned 6:" in limited.output and "skipped 6: unsubscribed 3, pending 2, paused 1" in limited.output
    for result in (runner.invoke(app, ["send", *day, "--to", box, "--workers", "0"]),
                   runner.invoke(app, ["report", *day])):
        assert result.exit_code == 0, result.output
        assert "customers 15  due 8  sent 8  failed 0  unfinished 0" in result.output
        assert "skipped 7: unsubscribed 3, paused 2, pending 2" in result.output
        assert "not planned" not in result.output
    with engine.connect() as conn:
        found = Report.from_ledger(conn, "weekly", EDITION)
    assert found.total == 15 == found.due + sum(found.skipped.values()) + found.not_planned
    assert found.planned == 10  # the ledger rows: the active customers
    # A customer added after the run is in the audience, not planned.
    add_customers(engine, 1)
    again = runner.invoke(app, ["report", *day])
    assert "customers 16  due 8" in again.output and "not planned 1:" in again.output


def test_report_of_an_edition_without_a_run_says_so(db_url, engine, monkeypatch):
    _audience(engine)
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["report", "weekly", "--date", EDITION.isoformat()])
    assert result.exit_code == 1 and "no send of weekly" in result.output

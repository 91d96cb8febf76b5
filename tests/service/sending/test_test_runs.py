"""Test runs (``send --limit N``) of an edition: real deliveries in the ledger, but they do not
start the edition for ``send --due`` (issue 10.16)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from typer.testing import CliRunner

from service.cli.main import app
from service.content.check import load_content
from service.sending import ledger
from service.sending.due import due_editions
from send_fixtures import CONTENT, add_customers, db_url, engine, migrated_postgres_url  # noqa: F401


def test_limit_runs_do_not_make_a_late_edition_due(db_url, engine, tmp_path, monkeypatch):
    add_customers(engine, 10)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    runner = CliRunner()
    box = tmp_path / "outbox"
    due_now = ["send", "--due", "--to", f"maildir:{box}", "--workers", "0", "--max-late", "0"]
    with engine.connect() as conn:
        weekly = {e.template: e for e in due_editions(conn, load_content(CONTENT), datetime.now(timezone.utc),
                                                     timedelta(0))}["weekly"]
    # The scenario: --due refuses the late edition, two test runs of it, --due again.
    refused = runner.invoke(app, due_now)
    assert refused.exit_code == 0 and f"weekly {weekly.day}: not started" in refused.output
    for _ in range(2):
        limited = runner.invoke(app, ["send", "weekly", "--date", weekly.day.isoformat(), "--to", f"maildir:{box}",
                                      "--workers", "0", "--limit", "2", "--force"])
        assert limited.exit_code == 0, limited.output
        assert "test run" in limited.output and "send --due" in limited.output
    with engine.connect() as conn:
        assert ledger.count_by_state(conn, ledger.EditionKey("weekly", weekly.day))[ledger.SENT] == 4
    still_refused = runner.invoke(app, due_now)
    assert still_refused.exit_code == 0, still_refused.output
    assert f"weekly {weekly.day}: not started" in still_refused.output
    with engine.connect() as conn:
        assert ledger.count_by_state(conn, ledger.EditionKey("weekly", weekly.day))[ledger.SENT] == 4  # no more
    # --force starts it for real: the rest goes out, nobody twice.
    forced = runner.invoke(app, due_now + ["--force"])
    assert forced.exit_code == 0, forced.output
    with engine.connect() as conn:
        states = ledger.count_by_state(conn, ledger.EditionKey("weekly", weekly.day))
        assert states[ledger.SENT] == 10 and not ledger.get_run(conn, ledger.EditionKey("weekly", weekly.day)
                                                                 ).test_runs_only


def test_a_full_run_after_test_runs_counts_as_started(engine):
    key = ledger.EditionKey("weekly", datetime(2026, 11, 23).date())
    with engine.begin() as conn:
        ledger.start_run(conn, key, "v1", test_run=True)
        ledger.start_run(conn, key, "v1", test_run=True)
        assert ledger.get_run(conn, key).test_runs_only
        ledger.start_run(conn, key, "v1")  # the full run (a crash in its plan keeps it started)
        ledger.start_run(conn, key, "v1", test_run=True)  # a later test run changes nothing
        assert not ledger.get_run(conn, key).test_runs_only

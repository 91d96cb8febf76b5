"""`newsletter send` to a relay that cannot be used at all fails at once with the reason, before
any customer is claimed (issue 10.14, 10.15): not five minutes of silent retries."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from typer.testing import CliRunner

from service.cli.main import app
from service.sending.tables import delivery, send_run
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, free_port,  # noqa: F401
                           migrated_postgres_url, smtp_relay)

runner = CliRunner()


def _send(monkeypatch, db_url, target):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    monkeypatch.setenv("NEWSLETTER_BASE_URL", "https://news.shop.example")
    monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_MAILTO", "unsubscribe@shop.example")
    return runner.invoke(app, ["send", "weekly", "--date", EDITION.isoformat(), "--to", target, "--workers", "0"])


def rows(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(send_run)).scalar_one(),
                conn.execute(select(func.count()).select_from(delivery)).scalar_one())


def test_nothing_listening_fails_at_once_naming_the_refusal(db_url, engine, monkeypatch):
    add_customers(engine, 5)
    port = free_port()
    started = time.monotonic()
    result = _send(monkeypatch, db_url, f"smtp://127.0.0.1:{port}")
    assert time.monotonic() - started < 10
    assert result.exit_code == 3, result.output
    output = " ".join(result.output.split())
    assert f"cannot use the relay smtp://127.0.0.1:{port}: connection refused" in output
    assert "nothing was sent" in output
    assert rows(engine) == (0, 0)  # no run started, no customer claimed


def test_a_relay_without_starttls_is_named_as_such(db_url, engine, monkeypatch, smtp_relay):
    relay, port = smtp_relay
    add_customers(engine, 2)
    result = _send(monkeypatch, db_url, f"smtp://127.0.0.1:{port}?starttls=1")
    assert result.exit_code == 3, result.output
    assert "the relay does not offer STARTTLS" in " ".join(result.output.split())
    assert relay.messages == [] and rows(engine) == (0, 0)


def test_an_unknown_host_is_named(db_url, engine, monkeypatch):
    result = _send(monkeypatch, db_url, "smtp://relay.newsletter.invalid:25?timeout=5")
    assert result.exit_code == 3, result.output
    assert "the host name relay.newsletter.invalid was not found" in " ".join(result.output.split())

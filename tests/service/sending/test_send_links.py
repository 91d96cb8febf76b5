"""The link gate of `newsletter send` (issue 10.20): a real relay never gets mails whose links
mailbox providers distrust, unless the operator says so; files (maildir, spool) only warn."""

from __future__ import annotations

from typer.testing import CliRunner

from service.cli.main import app
from service.settings import Settings
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           smtp_relay)

runner = CliRunner()


def _send(target: str, *options: str):
    return runner.invoke(app, ["send", "weekly", "--date", EDITION.isoformat(), "--to", target, "--workers", "0",
                               *options])


def _env(monkeypatch, db_url, **settings):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    for name in ("NEWSLETTER_BASE_URL", "NEWSLETTER_UNSUBSCRIBE_MAILTO"):
        monkeypatch.delenv(name, raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


def test_the_demo_defaults_are_untrusted_links_naming_their_settings():
    problems = Settings.from_env({}).untrusted_links()
    assert [p.split(" ", 1)[0] for p in problems] == ["NEWSLETTER_BASE_URL", "NEWSLETTER_UNSUBSCRIBE_MAILTO"]
    assert "https://" in problems[0] and "unsubscribe@nordhaus.example" in problems[1]
    fit = Settings.from_env({"NEWSLETTER_BASE_URL": "https://news.shop.example",
                             "NEWSLETTER_UNSUBSCRIBE_MAILTO": "unsubscribe@shop.example"})
    assert fit.untrusted_links() == []


def test_an_smtp_send_refuses_the_demo_links_unless_allowed(db_url, engine, monkeypatch, smtp_relay):
    relay, port = smtp_relay
    add_customers(engine, 3)
    _env(monkeypatch, db_url)
    target = f"smtp://127.0.0.1:{port}?timeout=5"
    refused = _send(target)
    assert refused.exit_code == 2, refused.output
    assert "NEWSLETTER_BASE_URL is http://127.0.0.1:8000" in refused.output
    assert "NEWSLETTER_UNSUBSCRIBE_MAILTO is still the demo's" in refused.output
    assert "--allow-insecure-links" in refused.output
    assert relay.recipients() == []
    allowed = _send(target, "--allow-insecure-links")
    assert allowed.exit_code == 0, allowed.output
    assert "warning: NEWSLETTER_BASE_URL" in allowed.output and len(relay.recipients()) == 3


def test_an_smtp_send_with_real_links_says_nothing_about_them(db_url, engine, monkeypatch, smtp_relay):
    relay, port = smtp_relay
    add_customers(engine, 2)
    _env(monkeypatch, db_url, NEWSLETTER_BASE_URL="https://news.shop.example",
         NEWSLETTER_UNSUBSCRIBE_MAILTO="unsubscribe@shop.example")
    result = _send(f"smtp://127.0.0.1:{port}?timeout=5")
    assert result.exit_code == 0, result.output
    assert "NEWSLETTER_" not in result.output and len(relay.recipients()) == 2


def test_a_maildir_send_only_warns(db_url, engine, monkeypatch, tmp_path):
    add_customers(engine, 2)
    _env(monkeypatch, db_url)
    result = _send(f"maildir:{tmp_path / 'outbox'}")
    assert result.exit_code == 0, result.output
    assert "warning: NEWSLETTER_BASE_URL is http://127.0.0.1:8000" in result.output
    assert "warning: NEWSLETTER_UNSUBSCRIBE_MAILTO" in result.output
    assert len(list((tmp_path / "outbox/new").iterdir())) == 2

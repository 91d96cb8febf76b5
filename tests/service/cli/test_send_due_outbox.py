"""What `newsletter send --due` (cron) does besides the editions: it sends what the outbox owes
(a confirmation the web app's worker could not send while the relay was down) and applies the
double opt-in's time limits (an unconfirmed signup deleted, with a consent event)."""

from __future__ import annotations

import mailbox
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from preferences.models import Channel, consent_event_table, customer_table
from preferences.optin.requests import Asked, Signup, sign_up
from preferences.optin.tables import SENT, outbox
from preferences.utc import utcnow
from service.cli.main import app
from send_fixtures import CONTENT, db_url, engine, migrated_postgres_url  # noqa: F401


def signup(engine, email, now=None):
    with Session(engine) as session:
        sign_up(session, Signup(email=email, locale="en", interests=frozenset({"garden"})), Asked(Channel.SIGNUP),
                known_groups=("garden", "kitchen"), locales=("de", "en"), now=now)
        session.commit()


def test_send_due_drains_the_outbox_and_deletes_signups_nobody_confirmed(db_url, engine, tmp_path, monkeypatch):
    signup(engine, "old@example.com", now=utcnow() - timedelta(days=31))  # its mail went out back then
    with engine.begin() as conn:
        conn.execute(outbox.update().values(state=SENT, sent_at=utcnow() - timedelta(days=31)))
    signup(engine, "new@example.com")  # queued, never sent: the relay was down
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    monkeypatch.setenv("NEWSLETTER_RELAY", f"maildir:{tmp_path / 'relay'}")
    result = CliRunner().invoke(app, ["send", "--due", "--to", f"maildir:{tmp_path / 'editions'}", "--workers", "0",
                                      "--max-late", "0"])
    assert result.exit_code == 0, result.output
    assert "outbox (maildir:" in result.output and "1 sent" in result.output
    assert "1 signups deleted" in result.output
    [mail] = list(mailbox.Maildir(tmp_path / "relay", create=False))
    assert mail["To"] == "new@example.com" and mail["Subject"] == "Please confirm your subscription"
    with engine.connect() as conn:
        assert conn.execute(select(customer_table.c.email)).scalars().all() == ["new@example.com"]
        assert conn.execute(select(consent_event_table.c.field).where(consent_event_table.c.channel == "system")
                            ).scalars().all() == ["deleted"]
    again = CliRunner().invoke(app, ["send", "--due", "--to", f"maildir:{tmp_path / 'editions'}", "--workers", "0",
                                     "--max-late", "0"])
    assert again.exit_code == 0 and "outbox" not in again.output
    assert len(list(mailbox.Maildir(tmp_path / "relay", create=False))) == 1

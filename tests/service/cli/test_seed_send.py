"""A test send to seed addresses (`send --test-to`, issue 10.16): real variants to the seed list,
"[TEST]" in the subject, nothing in the ledger, links that act on no customer."""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy

from typer.testing import CliRunner

from preferences.links import LinkSigner, Purpose
from service.cli.main import app
from service.sending import ledger
from service.cli.sending.seed import TEST_PUBLIC_ID
from service.settings import Settings
from send_fixtures import CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url  # noqa: F401


def _mails(box) -> list:
    return [message_from_bytes(m.as_bytes(), policy=policy.default) for m in mailbox.Maildir(box, create=False)]


def test_a_test_send_goes_to_the_seed_list_only_and_leaves_the_ledger_alone(db_url, engine, tmp_path, monkeypatch):
    add_customers(engine, 40)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    runner = CliRunner()
    box = tmp_path / "outbox"
    command = ["send", "weekly", "--date", EDITION.isoformat(), "--to", f"maildir:{box}"]
    result = runner.invoke(app, [*command, "--test-to", "editor@test.example, lead@test.example"])
    assert result.exit_code == 0, result.output
    mails = _mails(box)
    assert len(mails) == 3 * 2  # one customer each of three variants, to both addresses
    assert sorted({m["To"].addresses[0].addr_spec for m in mails}) == ["editor@test.example", "lead@test.example"]
    assert all(m["Subject"].startswith("[TEST] ") for m in mails)
    assert len({m["Message-ID"] for m in mails}) == 6
    assert not any("kunde." in m.as_string() for m in mails)  # the customers' addresses go nowhere
    # The personal links are signed for a test id: the seed's unsubscribe unsubscribes nobody.
    link = mails[0]["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    signer = LinkSigner(Settings().link_keys)
    assert signer.verify(link.split("?")[0].rsplit("/", 1)[-1], Purpose.UNSUBSCRIBE) == TEST_PUBLIC_ID
    with engine.connect() as conn:
        assert ledger.get_run(conn, ledger.EditionKey("weekly", EDITION)) is None
        assert conn.execute(ledger.delivery.select()).all() == []

    chosen = runner.invoke(app, [*command, "--test-to", "editor@test.example", "--test-customers", "CRM-5"])
    assert chosen.exit_code == 0, chosen.output
    assert "CRM-5" in chosen.output and "not in the ledger" in chosen.output
    assert len(_mails(box)) == 7
    unknown = runner.invoke(app, [*command, "--test-to", "editor@test.example", "--test-customers", "CRM-999"])
    assert unknown.exit_code == 1 and "no customer with external id 'CRM-999'" in unknown.output
    with_due = runner.invoke(app, ["send", "--due", "--to", f"maildir:{box}", "--test-to", "editor@test.example"])
    assert with_due.exit_code == 2 and "not with --due" in with_due.output
    bad = runner.invoke(app, [*command, "--test-to", "not-an-address"])
    assert bad.exit_code == 2 and "not an email address" in bad.output

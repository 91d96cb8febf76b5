"""The plan gate of `newsletter send` (issue 10.17): an edition whose plan has errors does not
start unless --allow-partial, and customers not sent for content reasons make the exit code 4."""

from __future__ import annotations

import mailbox

from typer.testing import CliRunner

from content_tree import write_tree
from service.cli.main import app
from service.cli.sending.gates import PARTIAL_EXIT, PLAN_REFUSED_EXIT
from service.sending import ledger
from send_fixtures import EDITION, add_customers, db_url, engine, migrated_postgres_url  # noqa: F401


def _tree_with_an_empty_required_slot(root):
    """The tiny tree, with products required: only VIPs get a product block, everyone else none."""
    content = write_tree(root)
    path = content / "templates/weekly/template.yaml"
    path.write_text(path.read_text().replace("products: {teams: [news], max: 2}",
                                             "products: {teams: [news], max: 2, required: true}"))
    return content


def test_send_refuses_a_plan_with_errors_unless_allow_partial(db_url, engine, tmp_path, monkeypatch):
    content = _tree_with_an_empty_required_slot(tmp_path)
    add_customers(engine, 8, locale=lambda n: "de",
                  attributes=lambda n: {"lifecycle": "customer", "purchasing_power": 5 if n <= 3 else 1})
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(content))
    runner = CliRunner()
    box = tmp_path / "outbox"
    command = ["send", "weekly", "--date", EDITION.isoformat(), "--to", f"maildir:{box}", "--workers", "0"]

    refused = runner.invoke(app, command)
    assert refused.exit_code == PLAN_REFUSED_EXIT == 1, refused.output
    assert "weekly 2026-11-23: plan error: everyone/de: not sent: required slot products is empty" in refused.output
    assert "not started" in refused.output and "--allow-partial sends the rest" in refused.output
    with engine.connect() as conn:
        assert ledger.get_run(conn, ledger.EditionKey("weekly", EDITION)) is None
    assert not box.exists()

    dry = runner.invoke(app, [*command, "--dry-run"])
    assert dry.exit_code == 0 and "a send would not start" in dry.output

    partial = runner.invoke(app, [*command, "--allow-partial"])
    assert partial.exit_code == PARTIAL_EXIT == 4, partial.output
    assert "plan error: everyone/de" in partial.output
    assert "partial: 5 customer(s) not sent for content reasons: required slot products is empty 5" \
        in partial.output
    assert len(mailbox.Maildir(box, create=False)) == 3  # the VIPs
    # The report read again says the same; a re-run has nothing left but the same verdict.
    again = runner.invoke(app, [*command, "--allow-partial"])
    assert again.exit_code == PARTIAL_EXIT and len(mailbox.Maildir(box, create=False)) == 3

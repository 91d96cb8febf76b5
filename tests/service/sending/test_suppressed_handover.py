"""Suppressed addresses at handover, through real sends on SQLite and PostgreSQL: never handed to
the relay, reported as skipped ``suppressed`` (also when suppressed after the plan), mailed again
once lifted; and every mail leaves from its customer's VERP return path."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from preferences.models import Channel, customer_table
from preferences.suppression import store as suppressions
from preferences.suppression.return_path import ReturnPath
from preferences.suppression.tables import HARD_BOUNCE, MANUAL
from service.content.check import load_content
from service.sending import ledger
from service.sending.local_engine import run_local
from service.sending.plan import plan_run
from service.sending.report import Report
from service.sending.spec import SendSpec
from service.settings import Settings
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           send_demo_edition, settings_for, smtp_relay)


def emails(engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(customer_table.c.id, customer_table.c.email)).all())


def test_a_suppressed_address_gets_nothing_and_is_reported_and_a_lifted_one_is_mailed(db_url, engine, tmp_path):
    add_customers(engine, 6)
    by_id = emails(engine)
    with engine.begin() as conn:
        suppressions.suppress(conn, by_id[2].upper(), HARD_BOUNCE, Channel.BOUNCE, detail="5.1.1 user unknown")
    messages, deliveries = send_demo_edition(engine, db_url, tmp_path / "outbox")
    assert by_id[2] not in {m["To"] for m in messages} and len(messages) == 5
    assert (deliveries[2].state, deliveries[2].reason) == (ledger.SKIPPED, "suppressed")
    with engine.connect() as conn:
        assert Report.from_ledger(conn, "weekly", EDITION).skipped["suppressed"] == 1

    with engine.begin() as conn:
        suppressions.lift(conn, by_id[2], Channel.OPERATOR, actor="ops")
    _, again = send_demo_edition(engine, db_url, tmp_path / "next", EDITION + timedelta(days=7))
    assert again[2].state == ledger.SENT


def test_suppressed_between_plan_and_handover_is_still_skipped_and_mail_leaves_from_the_return_path(
        db_url, engine, smtp_relay):
    relay, port = smtp_relay
    add_customers(engine, 4)
    by_id = emails(engine)
    content = load_content(CONTENT)
    spec = SendSpec(settings_for(db_url), "weekly", EDITION, f"smtp://127.0.0.1:{port}?retries=0&timeout=5",
                    workers=1)
    plan_run(engine, content, spec)
    with engine.begin() as conn:
        suppressions.suppress(conn, by_id[3], MANUAL, Channel.OPERATOR, actor="ops", detail="asked by phone")
    result = run_local(engine, spec, lambda tick: None, workers=1, progress=lambda counts: None, poll=0.1)
    assert not result.relay_down
    assert sorted(relay.recipients()) == sorted(e for i, e in by_id.items() if i != 3)
    paths = ReturnPath(Settings().bounce_address, Settings().link_keys)
    with engine.connect() as conn:
        public_ids = dict(conn.execute(select(customer_table.c.email, customer_table.c.public_id)).all())
    for mail_from, [rcpt], _ in relay.messages:
        assert paths.public_id_of(mail_from) == public_ids[rcpt]

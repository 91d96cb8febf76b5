"""The send run on SQLite and PostgreSQL: who is due, exactly-once delivery across re-runs and dead
workers, re-checks before handover, failures that stay with one recipient, the report."""

from __future__ import annotations

import mailbox
import os
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes
from pathlib import Path

import pytest
from typer.testing import CliRunner

from preferences.database import for_writes
from service.cli.main import app
from service.content.check import load_content
from service.delivery.base import SENT, Envelope, Result
from service.sending import ledger
from service.sending.batch import BatchSender
from service.sending.due import due_editions
from service.sending.plan import plan_run
from service.sending.report import Report
from service.sending.spec import SendSpec
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           set_paused, set_status, settings_for, smtp_relay)

KEY = ledger.EditionKey("weekly", EDITION)


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


def spec_for(db_url, target, **options) -> SendSpec:
    return SendSpec(settings_for(db_url), "weekly", EDITION, target, **options)


def run(engine, content, spec, *, limit=None, sender_name="w1", deliverer=None):
    """One whole run in this process: plan, then deliver until nothing is left."""
    counts = plan_run(engine, content, spec, limit=limit)
    sender = BatchSender(spec, sender_name, engine=engine, content=content, deliverer=deliverer)
    try:
        assert sender.run_until_done() == 0
    finally:
        sender.close()
    with engine.begin() as conn:
        ledger.complete_if_done(conn, spec.edition)
    return counts


def outbox(path: Path) -> list:
    return list(mailbox.Maildir(path, create=False)) if path.exists() else []


def rows(engine) -> dict:
    with engine.connect() as conn:
        return {r.customer_id: r for r in ledger.deliveries_of(conn, KEY)}


def report(engine) -> Report:
    with engine.connect() as conn:
        return Report.from_ledger(conn, "weekly", EDITION)


def test_every_due_customer_gets_exactly_one_message(engine, db_url, content, tmp_path):
    frequencies = {0: "weekly", 1: "biweekly", 2: "monthly"}
    ids = add_customers(engine, 60, frequency=lambda n: frequencies[n % 3],
                        paused_until=lambda n: date(2026, 12, 1) if n % 10 == 5 else None)
    add_customers(engine, 3, status=lambda n: "unsubscribed")
    spec = spec_for(db_url, f"maildir:{tmp_path / 'outbox'}", batch_size=7)
    counts = run(engine, content, spec)

    paused = {n for n in ids if n % 10 == 5}
    monthly = {n for n in ids if n % 3 == 2} - paused  # 2026-11-16 was an edition of the same month
    due = set(ids) - paused - monthly
    # The whole-run plan adds every active customer; the handover skips who is not due.
    assert counts.considered == 60 and counts.due == 60 and counts.complete
    messages = outbox(tmp_path / "outbox")
    assert sorted(m["To"] for m in messages) == sorted(f"Kunde{n} <kunde.{n}@example.com>" for n in due)
    assert len({m["Message-ID"] for m in messages}) == len(due)
    found = rows(engine)
    assert {n for n, r in found.items() if r.state == "sent"} == due
    assert {n: r.reason for n, r in found.items() if r.state == "skipped"} == (
        {n: "paused" for n in paused} | {n: "monthly-already" for n in monthly})
    assert all(r.message_id and r.segment and r.variant for r in found.values() if r.state == "sent")
    summary = report(engine)
    assert summary.complete and summary.due == len(due) and summary.states["sent"] == len(due)
    # The unsubscribed have no ledger row, and the report counts them all the same (issue 10.24).
    assert summary.skipped == {"paused": len(paused), "monthly-already": len(monthly), "unsubscribed": 3}
    assert summary.total == 63
    assert sum(c["sent"] for c in summary.variants.values()) == len(due)


def test_a_rerun_sends_to_nobody_twice_and_adds_new_customers(engine, db_url, content, tmp_path):
    first = add_customers(engine, 20)
    spec = spec_for(db_url, f"maildir:{tmp_path / 'outbox'}")
    run(engine, content, spec)
    assert len(outbox(tmp_path / "outbox")) == 20
    later = add_customers(engine, 5)  # imported after the first run
    relay = Collecting()
    again = run(engine, content, spec, deliverer=relay)
    assert again.already_planned == 20 and again.due == 5
    assert sorted(relay.recipients) == sorted(f"kunde.{n}@example.com" for n in later)
    assert all(r.state == "sent" and r.attempts == 1 for r in rows(engine).values())
    assert len(first) + len(later) == report(engine).states["sent"]


def test_customers_who_unsubscribe_or_pause_before_handover_are_skipped(engine, db_url, content, tmp_path):
    ids = add_customers(engine, 10)
    spec = spec_for(db_url, f"maildir:{tmp_path / 'outbox'}")
    plan_run(engine, content, spec)
    # Between the plan (or a crash) and the delivery:
    set_status(engine, ids[2], "unsubscribed")
    set_paused(engine, ids[3], date(2026, 12, 24))
    relay = Collecting()
    run(engine, content, spec, deliverer=relay)
    assert f"kunde.{ids[2]}@example.com" not in relay.recipients
    assert f"kunde.{ids[3]}@example.com" not in relay.recipients
    assert len(relay.recipients) == 8
    found = rows(engine)
    assert (found[ids[2]].state, found[ids[2]].reason) == ("skipped", "unsubscribed")
    assert (found[ids[3]].state, found[ids[3]].reason) == ("skipped", "paused")
    assert report(engine).complete


def test_rows_in_flight_when_a_worker_died_are_retried_without_duplicates(engine, db_url, content, tmp_path):
    ids = add_customers(engine, 12)
    box = tmp_path / "outbox"
    spec = spec_for(db_url, f"maildir:{box}", lease=0.3, batch_size=5)
    plan_run(engine, content, spec)
    # A worker claims a batch, delivers two messages, and dies before it records anything.
    claims = die_mid_batch(spec, engine, content, after=2)
    assert len(os.listdir(box / "new")) == 2
    # Before the re-run, one customer who got the message and one who did not unsubscribe.
    got, missed = claims[0].customer_id, claims[3].customer_id
    set_status(engine, got, "unsubscribed")
    set_status(engine, missed, "unsubscribed")
    survivor = BatchSender(spec, "survivor", engine=engine, content=content)
    assert survivor.run_until_done() == 0  # waits out the lease, then takes the rows over
    survivor.close()
    messages = outbox(box)
    assert sorted(m["To"] for m in messages) == sorted(f"Kunde{n} <kunde.{n}@example.com>" for n in ids
                                                       if n != missed)
    found = rows(engine)
    # The ledger tells what happened: the message that went out before the crash counts as sent.
    assert (found[got].state, found[got].answer) == ("sent", "found at the destination after a crash")
    assert (found[missed].state, found[missed].reason) == ("skipped", "unsubscribed")
    assert all(r.state == "sent" for n, r in found.items() if n != missed)
    assert {found[c.customer_id].attempts for c in claims} == {2}


def test_a_recipient_whose_data_breaks_rendering_fails_alone(engine, db_url, content, tmp_path):
    ids = add_customers(engine, 6)
    with engine.begin() as conn:
        from preferences.models import customer_table
        conn.execute(customer_table.update().where(customer_table.c.id == ids[1])
                     .values(email="broken address@example.com"))
    spec = spec_for(db_url, f"maildir:{tmp_path / 'outbox'}")
    run(engine, content, spec)
    found = rows(engine)
    assert found[ids[1]].state == "failed"
    assert found[ids[1]].reason == "render: ValueError"
    assert found[ids[1]].answer.startswith("ValueError: unusable email address")
    assert sum(r.state == "sent" for r in found.values()) == 5
    assert report(engine).failed == {found[ids[1]].reason: 1}


def test_a_5xx_refusal_fails_alone_and_is_recorded_with_the_answer(engine, db_url, content, smtp_relay):
    relay, port = smtp_relay
    ids = add_customers(engine, 8)
    relay.refuse[f"kunde.{ids[4]}@example.com"] = "550 5.1.1 mailbox unavailable"
    relay.mail_busy_for = 2  # and the relay is busy for a moment
    spec = spec_for(db_url, f"smtp://127.0.0.1:{port}?timeout=5")
    run(engine, content, spec)
    found = rows(engine)
    assert found[ids[4]].state == "failed" and found[ids[4]].answer == "550 5.1.1 mailbox unavailable (RCPT TO)"
    assert sorted(relay.recipients()) == sorted(f"kunde.{n}@example.com" for n in ids if n != ids[4])
    assert all(found[n].state == "sent" and found[n].answer.startswith("250") for n in ids if n != ids[4])
    sent = message_from_bytes(relay.messages[0][2])
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_relay_that_stays_down_leaves_the_rows_pending(engine, db_url, content):
    add_customers(engine, 4)
    spec = spec_for(db_url, "maildir:/unused", max_attempts=3)
    plan_run(engine, content, spec)
    down = Collecting(answer=Result("deferred", "421 try later"))
    sender = BatchSender(spec, "w", engine=engine, content=content, deliverer=down, sleep=lambda s: None)
    assert sender.run_until_done() == 3  # RELAY_DOWN_EXIT after the relay kept deferring
    found = rows(engine)
    assert {r.state for r in found.values()} <= {"pending", "failed"}
    # A row tried max_attempts times fails for good (with the relay's last answer).
    assert {r.reason for r in found.values() if r.state == "failed"} <= {"gave up after 3 attempts"}
    assert len(down.recipients) < 4 * 3 + 1
    with engine.begin() as conn:
        assert not ledger.complete_if_done(conn, KEY)


def test_dry_run_writes_nothing_and_limit_plans_only_so_many(engine, db_url, content, tmp_path):
    add_customers(engine, 30)
    spec = spec_for(db_url, f"maildir:{tmp_path / 'outbox'}")
    dry = plan_run(engine, content, spec, dry_run=True)
    assert dry.due == 30 and sum(dry.variants.values()) == 30
    assert rows(engine) == {}
    limited = plan_run(engine, content, spec, limit=10)
    assert limited.due == 10 and not limited.complete
    assert len(rows(engine)) == 10
    with engine.connect() as conn:
        assert not ledger.get_run(conn, KEY).plan_complete


def test_the_whole_run_plan_and_the_deciding_plan_leave_the_same_ledger(engine, db_url, content, tmp_path):
    """The whole-run plan leaves the due check to the handover; --limit decides in the plan.
    Either way every customer ends with the same state, reason and segment."""
    frequencies = ("weekly", "biweekly", "monthly")
    add_customers(engine, 40, frequency=lambda n: frequencies[n % 3],
                  paused_until=lambda n: date(2026, 12, 1) if n % 7 == 3 else None)
    add_customers(engine, 2, status=lambda n: "unsubscribed")
    ledgers = []
    for limit in (None, 1000):
        with engine.begin() as conn:
            conn.execute(ledger.delivery.delete())
            conn.execute(ledger.send_run.delete())
        counts = run(engine, content, spec_for(db_url, f"maildir:{tmp_path / str(limit)}"), limit=limit)
        assert counts.considered == 40 and counts.complete
        ledgers.append({n: (r.state, r.reason, r.segment) for n, r in rows(engine).items()})
    assert ledgers[0] == ledgers[1]
    assert {state for state, _, _ in ledgers[0].values()} == {"sent", "skipped"}


def test_biweekly_customers_follow_their_last_delivery(engine, db_url, content, tmp_path):
    ids = add_customers(engine, 4, frequency=lambda n: "biweekly")
    earlier = SendSpec(settings_for(db_url), "weekly", EDITION - timedelta(days=7), f"maildir:{tmp_path / 'a'}")
    run(engine, content, earlier, limit=2)  # only the first two got last week's edition
    spec = spec_for(db_url, f"maildir:{tmp_path / 'b'}")
    run(engine, content, spec)
    found = rows(engine)
    assert [found[n].state for n in ids] == ["skipped", "skipped", "sent", "sent"]
    assert found[ids[0]].reason == "biweekly-not-yet"


def test_send_and_report_from_the_command_line(db_url, engine, tmp_path, monkeypatch):
    ids = add_customers(engine, 12, paused_until=lambda n: date(2027, 1, 1) if n % 4 == 0 else None)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    runner = CliRunner()
    box = tmp_path / "outbox"
    result = runner.invoke(app, ["send", "weekly", "--date", EDITION.isoformat(), "--to", f"maildir:{box}",
                                 "--workers", "0"])
    assert result.exit_code == 0, result.output
    paused = sum(1 for n in ids if n % 4 == 0)
    assert f"customers 12  due {12 - paused}  sent {12 - paused}  failed 0  unfinished 0" in result.output
    assert f"paused {paused}" in result.output and "complete" in result.output
    again = runner.invoke(app, ["report", "weekly", "--date", EDITION.isoformat()])
    assert again.exit_code == 0 and f"sent {12 - paused}" in again.output and "per segment" in again.output
    assert len(outbox(box)) == 12 - paused
    not_an_edition = runner.invoke(app, ["send", "weekly", "--date", "2026-11-24", "--to", f"maildir:{box}"])
    assert not_an_edition.exit_code == 2 and "not an edition date" in not_an_edition.output
    nothing = runner.invoke(app, ["report", "weekly", "--date", "2026-11-30"])
    assert nothing.exit_code == 1


def test_due_editions_follow_the_schedule(engine, content):
    berlin_monday_8 = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)  # 08:00 in Berlin
    with engine.connect() as conn:
        found = {e.template: e for e in due_editions(conn, content, berlin_monday_8, timedelta(hours=12))}
    assert found["weekly"].day == EDITION and not found["weekly"].too_late
    before_seven = datetime(2026, 11, 23, 5, 0, tzinfo=timezone.utc)  # 06:00 in Berlin: last week's
    with engine.connect() as conn:
        early = {e.template: e for e in due_editions(conn, content, before_seven, timedelta(hours=12))}
    assert early["weekly"].day == date(2026, 11, 16) and early["weekly"].too_late
    # A complete run is not due again.
    with for_writes(engine).begin() as conn:
        ledger.start_run(conn, KEY, "v")
        ledger.finish_plan(conn, KEY)
        assert ledger.complete_if_done(conn, KEY)
    with engine.connect() as conn:
        assert "weekly" not in {e.template for e in due_editions(conn, content, berlin_monday_8, timedelta(hours=12))}


# Helpers ---------------------------------------------------------------------------------------

class Collecting:
    """A deliverer that records recipients and answers the same to each."""

    record_every = 1000

    def __init__(self, answer: Result = Result(SENT, "250 ok")):
        self.answer, self.recipients = answer, []

    def deliver(self, envelope: Envelope) -> Result:
        self.recipients.append(envelope.recipient)
        return self.answer

    def held(self, message_ids) -> set[str]:
        return set()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Died(Exception):
    pass


class _Crash:
    def __init__(self, inner, after: int):
        self.inner, self.left = inner, after
        self.record_every = inner.record_every

    def deliver(self, envelope):
        if self.left == 0:
            raise _Died()
        self.left -= 1
        return self.inner.deliver(envelope)


def die_mid_batch(spec, engine, content, *, after: int) -> list:
    """A worker claims a batch (``spec.batch_size`` rows, ``spec.lease``), hands ``after`` messages
    over as send_batch would (without its bookkeeping) and dies before it records anything: the
    claims it held."""
    dying = BatchSender(spec, "dying", engine=engine, content=content)
    claims = ledger.claim_batch(for_writes(engine), spec.edition, "dying", spec.batch_size, lease=spec.lease)
    dying.deliverer = _Crash(dying.deliverer, after=after)
    with pytest.raises(_Died):
        for claim in claims:
            dying.deliverer.deliver(_envelope_for(dying, engine, claim.customer_id))
    return claims  # its deliverer is never closed: the process is gone


def _envelope_for(sender: BatchSender, engine, customer_id: int) -> Envelope:
    from service.assembly.mime import message_id
    from service.assembly.recipient import Recipient
    from service.sending.batch import current_send_rows
    from service.sending.spec import decide

    with engine.connect() as conn:
        row = current_send_rows(conn, [customer_id])[0]
    decision = decide(sender.edition, row, None, sender.previous)
    variant = sender.renderer.variant(sender.edition, decision.assembly)
    recipient = Recipient.from_row(row)
    data = sender.renderer.message(sender.edition, variant, recipient, sender.date_header)
    return Envelope("news@x", recipient.email, message_id(variant.edition_id, recipient.public_id,
                                                          sender.template.list_id), data)


def test_send_due_from_the_command_line(db_url, engine, tmp_path, monkeypatch):
    add_customers(engine, 3)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    runner = CliRunner()
    box = tmp_path / "outbox"
    # Today's (or last) edition of every template: long past the lateness allowed in this test.
    late = runner.invoke(app, ["send", "--due", "--to", f"maildir:{box}", "--workers", "0", "--max-late", "0"])
    assert late.exit_code == 0, late.output
    assert "later than the allowed lateness" in late.output and not box.exists()
    forced = runner.invoke(app, ["send", "--due", "--to", f"maildir:{box}", "--workers", "0", "--max-late", "0",
                                 "--force"])
    assert forced.exit_code == 0, forced.output
    with engine.connect() as conn:
        runs = conn.execute(ledger.send_run.select()).all()
        assert len(runs) == 2 and all(r.completed_at for r in runs)  # weekly and monthly
        assert conn.execute(ledger.delivery.select()).all().__len__() == 2 * 3
    # Complete now: a second call (cron, a minute later) finds nothing to do.
    again = runner.invoke(app, ["send", "--due", "--to", f"maildir:{box}", "--workers", "0", "--force"])
    assert again.exit_code == 0 and "no newsletter edition due" in again.output
    assert runner.invoke(app, ["send", "weekly", "--due", "--to", f"maildir:{box}"]).exit_code == 2
    assert runner.invoke(app, ["send", "weekly", "--date", EDITION.isoformat()]).exit_code == 2  # no --to

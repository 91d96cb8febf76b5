"""A recipient the relay defers alone (a 4xx to its RCPT TO or DATA) waits out a back-off of its
own while the connection goes on with the others, on SQLite and PostgreSQL, against a real
aiosmtpd relay: retried after it and delivered, or failed after the last attempt with the relay's
answer; a 421 still backs off the connection; the engines wait for the deferred, saying so."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from preferences.database import for_writes
from service.content.check import load_content
from service.sending import ledger, waiting
from service.sending.batch import RECIPIENT_DEFERRALS_IN_A_ROW, RECIPIENT_DEFERRED, BatchSender
from service.sending.local_engine import run_local
from service.sending.plan import plan_run
from service.sending.report import Report
from service.sending.spec import SendSpec
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           settings_for, smtp_relay)

KEY = ledger.EditionKey("weekly", EDITION)
SAID = "451 4.7.1 greylisted, try again later"  # the relay's words
GREYLISTED = f"{SAID} (RCPT TO)"  # as the ledger records them


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


def spec_for(db_url, port, **options) -> SendSpec:
    options = dict(retry_first_s=0.3, retry_max_s=1.0, batch_size=50) | options
    return SendSpec(settings_for(db_url), "weekly", EDITION, f"smtp://127.0.0.1:{port}?timeout=5&retries=1",
                    **options)


class Sleeps(list):
    """The worker's sleeps, recorded; short ones slept, long ones (a back-off) only recorded."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds, 0.05))


def send(engine, content, spec, sleeps=None):
    plan_run(engine, content, spec)
    sender = BatchSender(spec, "w1", engine=engine, content=content, sleep=sleeps or Sleeps())
    try:
        code = sender.run_until_done()
        connections = sender.deliverer.connections
    finally:
        sender.close()
    with engine.connect() as conn:
        rows = {r.customer_id: r for r in ledger.deliveries_of(conn, KEY)}
    return code, rows, connections


def address(n: int) -> str:
    return f"kunde.{n}@example.com"


def test_a_greylisted_recipient_is_retried_after_its_back_off_while_the_others_go_on(engine, db_url, content,
                                                                                     smtp_relay):
    relay, port = smtp_relay
    ids = add_customers(engine, 6)
    relay.greylist[address(ids[1])] = 1
    began = time.monotonic()
    code, rows, connections = send(engine, content, spec_for(db_url, port))
    assert code == 0
    assert all(r.state == "sent" for r in rows.values())
    assert rows[ids[1]].attempts == 2 and rows[ids[1]].not_before is None
    assert all(rows[n].attempts == 1 for n in ids if n != ids[1])
    # The others went on the same connection right after the refusal, without a pause ...
    tried = [(rcpt, answer) for rcpt, answer, _ in relay.rcpt_log]
    assert sorted(tried[:6]) == sorted((address(n), SAID if n == ids[1] else "250 OK") for n in ids)
    assert connections == 1 and len(set(relay.peers)) == 1
    # ... and the deferred one came back after its back-off, and was taken.
    assert tried[6:] == [(address(ids[1]), "250 OK")]
    first, again = [at for rcpt, _, at in relay.rcpt_log if rcpt == address(ids[1])]
    assert again - first >= 0.3 - 0.01 and again - began < 10
    assert sorted(relay.recipients()) == sorted(address(n) for n in ids)


def test_a_recipient_deferred_at_every_try_fails_after_the_last_with_the_relays_answer(engine, db_url, content,
                                                                                     smtp_relay):
    relay, port = smtp_relay
    ids = add_customers(engine, 4)
    relay.greylist[address(ids[2])] = 1000
    code, rows, _ = send(engine, content, spec_for(db_url, port, max_attempts=3, retry_first_s=0.1))
    assert code == 0
    failed = rows[ids[2]]
    assert (failed.state, failed.reason, failed.answer, failed.attempts) == (
        "failed", "gave up after 3 attempts", GREYLISTED, 3)
    assert [rcpt for rcpt, _, _ in relay.rcpt_log].count(address(ids[2])) == 3
    assert all(rows[n].state == "sent" for n in ids if n != ids[2])
    with for_writes(engine).begin() as conn:
        assert ledger.complete_if_done(conn, KEY)  # reported, not left unfinished
        report = Report.from_ledger(conn, "weekly", EDITION)
    assert report.failed == {"gave up after 3 attempts": 1}


def test_a_4xx_at_the_end_of_data_defers_the_recipient_alone(engine, db_url, content, smtp_relay):
    relay, port = smtp_relay
    ids = add_customers(engine, 3)
    relay.data_defer[address(ids[0])] = 1
    code, rows, connections = send(engine, content, spec_for(db_url, port))
    assert code == 0 and connections == 1
    assert [rows[n].attempts for n in ids] == [2, 1, 1] and all(r.state == "sent" for r in rows.values())


def test_a_421_still_backs_off_the_connection(engine, db_url, content, smtp_relay):
    relay, port = smtp_relay
    ids = add_customers(engine, 4)
    relay.closing.add(address(ids[1]))  # 421, once: the relay closes the connection
    spec = spec_for(db_url, port)
    plan_run(engine, content, spec)
    sleeps = Sleeps()
    sender = BatchSender(spec, "w1", engine=engine, content=content, sleep=sleeps)
    sender.deliverer.retries = 0  # no retry of its own: the 421 comes back to the worker
    try:
        first = sender.send_batch()
        assert first.deferred  # the connection's trouble: the rest of the batch went back ...
        with engine.connect() as conn:
            rows = {r.customer_id: r for r in ledger.deliveries_of(conn, KEY)}
        assert [rows[n].state for n in ids] == ["sent", "pending", "pending", "pending"]
        assert rows[ids[1]].reason == "deferred" and rows[ids[1]].not_before is None  # claimable at once
        assert rows[ids[2]].attempts == 0  # never tried
        assert sender.run_until_done() == 0
    finally:
        sender.close()
    with engine.connect() as conn:
        assert {r.state for r in ledger.deliveries_of(conn, KEY)} == {"sent"}
    assert sender.deliverer.connections == 2


def test_a_relay_that_defers_recipient_after_recipient_is_backed_off_as_a_whole(engine, db_url, content,
                                                                               smtp_relay):
    relay, port = smtp_relay
    add_customers(engine, 30)
    relay.busy_for = RECIPIENT_DEFERRALS_IN_A_ROW + 2  # 452 to every RCPT for a while
    spec = spec_for(db_url, port)
    plan_run(engine, content, spec)
    sleeps = Sleeps()
    sender = BatchSender(spec, "w1", engine=engine, content=content, sleep=sleeps)
    try:
        result = sender.send_batch()
        assert result.deferred  # not each recipient's trouble: the worker backs off ...
        with engine.connect() as conn:
            rows = [r for r in ledger.deliveries_of(conn, KEY)]
        waiting_out = [r for r in rows if r.reason == RECIPIENT_DEFERRED]
        assert len(waiting_out) == RECIPIENT_DEFERRALS_IN_A_ROW  # ... after that many, each with its back-off
        assert sum(r.state == "pending" and r.attempts == 0 for r in rows) == 30 - RECIPIENT_DEFERRALS_IN_A_ROW
        assert sender.run_until_done() == 0
    finally:
        sender.close()
    assert 2.0 in sleeps  # the worker's back-off of a deferring relay (2, 4, ... s)
    with engine.connect() as conn:
        assert {r.state for r in ledger.deliveries_of(conn, KEY)} == {"sent"}


def test_retries_deferred_again_together_do_not_back_off_the_relay(engine, db_url, content, smtp_relay):
    """The recipients whose back-off ends together are claimed together: deferred again one after
    the other, they are each still one recipient's trouble (bench/smtp_faults.py --fault-times 100
    once ended a run with "the relay stayed unreachable" that way)."""
    relay, port = smtp_relay
    count = RECIPIENT_DEFERRALS_IN_A_ROW + 3
    ids = add_customers(engine, count)
    # A back-off long enough that the check below sees it ahead however slow the batch was.
    spec = spec_for(db_url, port, retry_first_s=30.0, retry_max_s=60.0)
    plan_run(engine, content, spec)
    writes = for_writes(engine)
    claims = ledger.claim_batch(writes, KEY, "w1", count, lease=60)
    due = datetime.now(timezone.utc) - timedelta(seconds=1)  # deferred at a first try, and due again
    ledger.record(writes, "w1", [ledger.Outcome(c.id, ledger.PENDING, RECIPIENT_DEFERRED, answer=GREYLISTED,
                                                not_before=due) for c in claims])
    for n in ids:
        relay.greylist[address(n)] = 1
    sender = BatchSender(spec, "w1", engine=engine, content=content, sleep=Sleeps())
    try:
        result = sender.send_batch()
    finally:
        sender.close()
    assert result.claimed == count and not result.deferred
    with engine.connect() as conn:
        rows = ledger.deliveries_of(conn, KEY)
    assert {(r.state, r.reason, r.attempts) for r in rows} == {("pending", RECIPIENT_DEFERRED, 2)}
    assert all(r.not_before > datetime.now(timezone.utc) for r in rows)


def test_the_ledger_holds_a_deferred_row_until_its_time(engine):
    ids = add_customers(engine, 3)
    with for_writes(engine).begin() as conn:
        ledger.start_run(conn, KEY, "v1")
        ledger.add_planned(conn, KEY, [dict(customer_id=i, state="pending", reason=None, segment=None,
                                            variant=None) for i in ids])
    writes = for_writes(engine)
    claims = ledger.claim_batch(writes, KEY, "w", 10, lease=60)
    later = datetime.now(timezone.utc) + timedelta(seconds=0.6)
    ledger.record(writes, "w", [
        ledger.Outcome(claims[0].id, ledger.PENDING, RECIPIENT_DEFERRED, answer=GREYLISTED, not_before=later),
        ledger.Outcome(claims[1].id, ledger.SENT, answer="250 ok"),
        ledger.Outcome(claims[2].id, ledger.PENDING, "deferred", tried=False),  # the relay's: at once
    ])
    assert [c.customer_id for c in ledger.claim_batch(writes, KEY, "w", 10, lease=60)] == [ids[2]]
    assert ledger.claim_batch(writes, KEY, "w", 10, lease=60) == []
    with engine.connect() as conn:
        assert 0.3 < ledger.next_claimable_in(conn, KEY, lease=60) <= 0.6
        count, next_at, answer = waiting.retries_waiting(conn, KEY)
    assert (count, answer) == (1, GREYLISTED) and abs((next_at - later).total_seconds()) < 0.01
    time.sleep(0.7)
    again = ledger.claim_batch(writes, KEY, "w", 10, lease=60)
    assert [(c.customer_id, c.attempts) for c in again] == [(ids[0], 2)]
    with engine.connect() as conn:
        assert waiting.retries_waiting(conn, KEY) is None


def test_the_claim_of_fresh_rows_walks_the_index_in_id_order(tmp_path):
    """SQLite's plan: no scan of the edition, no sort, rows waiting for their retry not read."""
    from sqlalchemy import text

    from preferences.database import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'plan.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        plans = {name: " | ".join(row[-1] for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
                 for name, sql in (
            ("fresh", "SELECT id FROM delivery WHERE template = 'weekly' AND edition_date = '2026-11-23' "
                      "AND state = 'pending' AND not_before IS NULL ORDER BY id LIMIT 500"),
            ("retry", "SELECT id FROM delivery WHERE template = 'weekly' AND edition_date = '2026-11-23' "
                      "AND state = 'pending' AND not_before <= '2026-11-23 10:00:00' ORDER BY id LIMIT 500"),
        )}
    engine.dispose()
    assert "USING COVERING INDEX ix_delivery_work (template=? AND edition_date=? AND state=? AND not_before=?)" \
        in plans["fresh"] and "TEMP B-TREE" not in plans["fresh"], plans
    assert "ix_delivery_work (template=? AND edition_date=? AND state=? AND not_before<?)" in plans["retry"], plans


def test_the_local_engine_waits_for_the_deferred_and_says_what_it_waits_for(engine, db_url, content, smtp_relay):
    relay, port = smtp_relay
    ids = add_customers(engine, 5)
    relay.greylist[address(ids[3])] = 1
    spec = spec_for(db_url, port, retry_first_s=2.0)
    said = []
    result = run_local(engine, spec, lambda tick: plan_run(engine, content, spec, on_batch=lambda _c: tick()),
                       workers=1, progress=lambda counts: None, poll=0.1, stalled_after=0.3,
                       waiting=said.append)
    assert result.complete and result.counts["sent"] == 5  # it did not end while the one waited
    waits = [status for status in said if status is not None]
    assert waits and waits[0].reason == (f"waiting to retry 1 recipient the relay deferred (the relay answered: "
                                         f"{GREYLISTED}); next retry at")
    assert waits[0].until > datetime.now(timezone.utc) - timedelta(seconds=30)
    assert said[-1] is None  # and it says nothing once mail moves again

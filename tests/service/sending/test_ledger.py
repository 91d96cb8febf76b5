"""The delivery ledger on SQLite and PostgreSQL: schema, planning, claiming, leases, completion."""

from __future__ import annotations

import threading
import time
import warnings
from datetime import date

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, update
from sqlmodel import SQLModel

from preferences.database import for_writes
from service.sending import ledger
from service.sending.tables import delivery
from send_fixtures import EDITION, add_customers, db_url, engine, migrated_postgres_url  # noqa: F401

KEY = ledger.EditionKey("weekly", EDITION)


def plan(engine, ids, state=ledger.PENDING, edition=KEY, **extra):
    with for_writes(engine).begin() as conn:
        ledger.start_run(conn, edition, "v1")
        ledger.add_planned(conn, edition, [dict(customer_id=i, state=state, reason=None, segment="vip",
                                                variant="vip/de", **extra) for i in ids])


def states(engine, edition=KEY):
    with engine.connect() as conn:
        return ledger.count_by_state(conn, edition)


def test_the_migration_matches_the_tables(engine):
    tables = set(inspect(engine).get_table_names())
    assert {"delivery", "send_run"} <= tables
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    ours = [d for d in diffs if "'delivery'" in repr(d) or "'send_run'" in repr(d)]
    assert ours == []


def test_planning_twice_adds_only_the_missing_rows(engine):
    ids = add_customers(engine, 10)
    plan(engine, ids[:6])
    plan(engine, ids, state=ledger.SKIPPED)  # re-run: the first six keep their state
    assert states(engine) == {"pending": 6, "claimed": 0, "sent": 0, "skipped": 4, "failed": 0}
    with engine.connect() as conn:
        assert ledger.planned_customer_ids(conn, KEY, ids[0], ids[-1]) == set(ids)
        assert ledger.planned_customer_ids(conn, KEY, ids[3], ids[4]) == {ids[3], ids[4]}


def test_a_claim_takes_pending_rows_once(engine):
    ids = add_customers(engine, 10)
    plan(engine, ids)
    writes = for_writes(engine)
    first = ledger.claim_batch(writes, KEY, "w1", 4, lease=60)
    second = ledger.claim_batch(writes, KEY, "w2", 100, lease=60)
    assert [c.customer_id for c in first] == ids[:4]
    assert [c.customer_id for c in second] == ids[4:]
    assert all(c.attempts == 1 for c in first + second)
    assert ledger.claim_batch(writes, KEY, "w3", 100, lease=60) == []
    assert states(engine)["claimed"] == 10


def test_concurrent_claimers_never_share_a_row(engine):
    ids = add_customers(engine, 600)
    plan(engine, ids)
    writes = for_writes(engine)
    taken: dict[str, list[int]] = {}
    errors = []

    def claimer(name):
        try:
            mine = taken.setdefault(name, [])
            while batch := ledger.claim_batch(writes, KEY, name, 7, lease=60):
                mine.extend(c.customer_id for c in batch)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    everything = [cid for got in taken.values() for cid in got]
    assert sorted(everything) == ids  # each row exactly once
    assert sum(1 for got in taken.values() if got) > 1  # and the work was shared


def test_a_dead_workers_claims_are_taken_over_after_the_lease(engine):
    ids = add_customers(engine, 5)
    plan(engine, ids)
    writes = for_writes(engine)
    assert len(ledger.claim_batch(writes, KEY, "dead", 3, lease=0.5)) == 3
    again = ledger.claim_batch(writes, KEY, "alive", 10, lease=0.5)
    assert [c.customer_id for c in again] == ids[3:]  # the dead worker's rows are still leased
    with engine.connect() as conn:
        assert 0 < ledger.next_claimable_in(conn, KEY, 0.5) <= 0.5
    time.sleep(0.6)
    taken = ledger.claim_batch(writes, KEY, "alive", 10, lease=0.5)
    assert [c.customer_id for c in taken] == ids[:3] + ids[3:]  # stale: all five are claimable
    assert {c.customer_id: c.attempts for c in taken}[ids[0]] == 2
    # The dead worker's late outcome no longer counts: the rows are someone else's now.
    ledger.record(writes, "dead", [ledger.Outcome(taken[0].id, ledger.SENT)])
    assert states(engine)["sent"] == 0


def test_renewed_claims_are_not_taken_over(engine):
    ids = add_customers(engine, 2)
    plan(engine, ids)
    writes = for_writes(engine)
    claims = ledger.claim_batch(writes, KEY, "slow", 2, lease=0.6)
    time.sleep(0.4)
    with writes.begin() as conn:
        ledger.renew_claims(conn, "slow", [c.id for c in claims])
    time.sleep(0.4)
    assert ledger.claim_batch(writes, KEY, "other", 2, lease=0.6) == []


def test_outcomes_and_release(engine):
    ids = add_customers(engine, 4)
    plan(engine, ids)
    writes = for_writes(engine)
    claims = ledger.claim_batch(writes, KEY, "w", 10, lease=60)
    ledger.record(writes, "w", [
        ledger.Outcome(claims[0].id, ledger.SENT, None, "vip", "vip/de", "<m1@x>", "250 queued"),
        ledger.Outcome(claims[1].id, ledger.FAILED, "refused by the relay", answer="550 no such user"),
        ledger.Outcome(claims[2].id, ledger.PENDING, "deferred", answer="452 later"),
        ledger.Outcome(claims[3].id, ledger.PENDING, "deferred", tried=False),
    ])
    with engine.connect() as conn:
        rows = {r.customer_id: r for r in ledger.deliveries_of(conn, KEY)}
    assert rows[ids[0]].state == "sent" and rows[ids[0]].message_id == "<m1@x>"
    assert rows[ids[0]].claimed_by is None and rows[ids[0]].answer == "250 queued"
    assert rows[ids[1]].state == "failed" and rows[ids[1]].answer == "550 no such user"
    assert rows[ids[2]].state == "pending" and rows[ids[2]].attempts == 1
    assert rows[ids[3]].state == "pending" and rows[ids[3]].attempts == 0  # never tried
    again = ledger.claim_batch(writes, KEY, "w", 10, lease=60)
    assert sorted(c.customer_id for c in again) == ids[2:]


def test_a_sent_row_records_the_arms_its_mail_held_and_the_others_keep_theirs(engine):
    # A winner phase presets the winners' arms on every released row; what is sent is recorded as
    # it was: a variant without the experiment held no arm, whatever the row said before.
    ids = add_customers(engine, 3)
    plan(engine, ids)
    with for_writes(engine).begin() as conn:
        conn.execute(update(delivery).values(arms="advice/heating-costs=b", phase="winner"))
    writes = for_writes(engine)
    claims = ledger.claim_batch(writes, KEY, "w", 10, lease=60)
    ledger.record(writes, "w", [
        ledger.Outcome(claims[0].id, ledger.SENT, None, "new-subscribers", "new-subscribers/de", "<m1@x>"),
        ledger.Outcome(claims[1].id, ledger.SENT, None, "vip", "vip/de [advice/heating-costs=b]", "<m2@x>",
                       arms="advice/heating-costs=b"),
        ledger.Outcome(claims[2].id, ledger.PENDING, "deferred", answer="452 later"),
    ])
    with engine.connect() as conn:
        arms = {r.customer_id: r.arms for r in ledger.deliveries_of(conn, KEY)}
    assert arms == {ids[0]: None, ids[1]: "advice/heating-costs=b", ids[2]: "advice/heating-costs=b"}


def test_a_run_is_complete_when_planned_and_every_row_is_terminal(engine):
    ids = add_customers(engine, 2)
    plan(engine, ids)
    writes = for_writes(engine)
    with writes.begin() as conn:
        assert not ledger.complete_if_done(conn, KEY)  # the plan did not go through yet
        ledger.finish_plan(conn, KEY)
        assert not ledger.complete_if_done(conn, KEY)  # rows are pending
    claims = ledger.claim_batch(writes, KEY, "w", 10, lease=60)
    ledger.record(writes, "w", [ledger.Outcome(c.id, ledger.SENT) for c in claims])
    with writes.begin() as conn:
        assert ledger.complete_if_done(conn, KEY)
        assert ledger.get_run(conn, KEY).completed_at is not None
        assert ledger.unfinished_runs(conn) == []
        assert ledger.next_claimable_in(conn, KEY, 60) is None


def test_last_sent_dates_are_per_template_and_before_the_edition(engine):
    ids = add_customers(engine, 3)
    earlier, other = ledger.EditionKey("weekly", date(2026, 11, 9)), ledger.EditionKey("monthly", date(2026, 11, 16))
    plan(engine, ids[:2], edition=earlier)
    plan(engine, ids, edition=other)
    writes = for_writes(engine)
    for edition in (earlier, other):
        claims = ledger.claim_batch(writes, edition, "w", 10, lease=60)
        ledger.record(writes, "w", [ledger.Outcome(c.id, ledger.SENT if c.customer_id != ids[1] else ledger.FAILED)
                                    for c in claims])
    with engine.connect() as conn:
        found = ledger.last_sent_dates(conn, "weekly", EDITION, ids)
        assert found == {ids[0]: date(2026, 11, 9)}  # failed rows and other templates don't count
        assert ledger.last_sent_dates(conn, "weekly", date(2026, 11, 9), ids) == {}
        assert conn.execute(select(ledger.send_run.c.template)).scalars().all()

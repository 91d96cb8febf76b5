"""Bounce and complaint rates per edition, on SQLite and PostgreSQL: editions handed over through
the ledger's own claim-and-record path, reports recorded by the real matching and recording
(``record_batch``, by the messages' Message-IDs), the limits tested at their exact boundaries."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event

from preferences.database import for_writes
from preferences.suppression.recording import Outcome as Recorded, SoftBounceRule
from preferences.suppression.reports import Report
from preferences.suppression.return_path import ReturnPath
from preferences.suppression.tables import COMPLAINT, HARD, SOFT, WEBHOOK
from service.lifecycle.bounces import record_batch
from service.results.deliverability import (COMPLAINT_LIMIT, COMPLAINT_RATE, HARD_BOUNCE_LIMIT, HARD_BOUNCE_RATE,
                                            Deliverability, deliverability_by_edition, sent_in_ledger)
from service.results.figures import Period
from service.results.refresh import refresh
from service.sending import ledger
from service.sending.tables import delivery
from service.settings import Settings
from send_fixtures import add_customers, db_url, engine, migrated_postgres_url  # noqa: F401

RETURN_PATH = ReturnPath(Settings().bounce_address, Settings().link_keys)
AT_LIMIT, OVER_LIMIT, QUIET = date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)
WEEKS = Period("weekly", AT_LIMIT, QUIET)


def message_id(day: date, customer_id: int) -> str:
    return f"<weekly.{day}.{customer_id}@weekly.nordhaus.example>"


def hand_over(engine, day: date, customer_ids: list[int], *, complete: bool = True) -> None:
    """The edition planned for ``customer_ids`` and each message handed over (the ledger's
    claims and records, as a worker does); one more customer skipped, which is not sent."""
    edition = ledger.EditionKey("weekly", day)
    with engine.begin() as conn:
        ledger.start_run(conn, edition, None)
        ledger.add_planned(conn, edition, [dict(customer_id=n, state=ledger.PENDING, reason=None, segment="everyone",
                                                variant="everyone/de") for n in customer_ids]
                           + [dict(customer_id=customer_ids[-1] + 1, state=ledger.SKIPPED, reason="not due",
                                   segment=None, variant=None)])
        ledger.finish_plan(conn, edition)
    writes = for_writes(engine)
    claims = ledger.claim_batch(writes, edition, "w1", len(customer_ids), 60)
    ledger.record(writes, "w1", [ledger.Outcome(c.id, ledger.SENT, segment="everyone", variant="everyone/de",
                                                message_id=message_id(day, c.customer_id)) for c in claims])
    if complete:
        with engine.begin() as conn:
            assert ledger.complete_if_done(conn, edition)


def report(engine, day: date, kind: str, customer_ids, *, event: str = "") -> None:
    """Reports about these customers' messages of ``day``, through the webhook's recording path."""
    status = {HARD: "5.1.1", SOFT: "4.2.2", COMPLAINT: None}[kind]
    done = record_batch(engine, [Report(f"webhook:evt-{day}-{kind}-{n}{event}", kind, WEBHOOK,
                                        message_id=message_id(day, n), status=status) for n in customer_ids],
                        RETURN_PATH, SoftBounceRule())
    assert all(r.outcome == Recorded(kind) for r in done), done


@pytest.fixture
def editions(engine):
    """Three editions: 1,000 messages with exactly 0.1% complaints and 2% hard bounces; 999
    with as many (just over both limits); 50 with no report at all."""
    ids = add_customers(engine, 1001)
    hand_over(engine, AT_LIMIT, ids[:1000])
    hand_over(engine, OVER_LIMIT, ids[:999])
    hand_over(engine, QUIET, ids[:50])
    for day in (AT_LIMIT, OVER_LIMIT):
        report(engine, day, COMPLAINT, ids[:1])
        report(engine, day, HARD, ids[100:120])
        report(engine, day, SOFT, ids[200:300])  # 10%: never a warning
    refresh(engine)
    return ids


def test_the_limits_are_strictly_over_and_soft_bounces_never_warn(engine, editions):
    with engine.connect() as conn:
        found = deliverability_by_edition(conn, WEEKS)
    at, over, quiet = found[AT_LIMIT], found[OVER_LIMIT], found[QUIET]
    assert (at.sent, at.hard, at.soft, at.complaints) == (1000, 20, 100, 1)
    assert (at.complaint_rate, at.hard_rate, at.soft_rate) == (0.001, 0.02, 0.1)
    assert at.warnings == ()
    assert (over.sent, over.hard, over.complaints) == (999, 20, 1)
    assert [w.code for w in over.warnings] == [COMPLAINT_RATE, HARD_BOUNCE_RATE]
    assert [w.limit for w in over.warnings] == [COMPLAINT_LIMIT, HARD_BOUNCE_LIMIT]
    complaint, hard = (w.text for w in over.warnings)
    assert "complaint rate 0.10% is over the limit of 0.1%" in complaint and "came from" in complaint
    assert "hard-bounce rate 2.00% is over the limit of 2%" in hard and "bounces process" in hard
    assert quiet == Deliverability(QUIET, sent=50)
    assert (quiet.hard_rate, quiet.complaint_rate, quiet.warnings) == (0.0, 0.0, ())


def test_an_address_reported_twice_counts_once(engine, editions):
    report(engine, AT_LIMIT, COMPLAINT, editions[:1], event="-again")  # another event, the same recipient
    report(engine, AT_LIMIT, HARD, editions[100:101], event="-again")
    with engine.connect() as conn:
        at = deliverability_by_edition(conn, WEEKS)[AT_LIMIT]
    assert (at.complaints, at.hard, at.warnings) == (1, 20, ())
    report(engine, AT_LIMIT, COMPLAINT, editions[1:2])  # a second recipient: 0.2%
    with engine.connect() as conn:
        assert [w.code for w in deliverability_by_edition(conn, WEEKS)[AT_LIMIT].warnings] == [COMPLAINT_RATE]


def test_a_report_counts_for_the_edition_of_its_message_only(engine, editions):
    report(engine, QUIET, HARD, editions[:2])  # 2 of 50: 4%
    with engine.connect() as conn:
        found = deliverability_by_edition(conn, WEEKS)
        only_quiet = deliverability_by_edition(conn, Period("weekly", QUIET, QUIET))
        other = deliverability_by_edition(conn, Period("daily", AT_LIMIT, QUIET))
    assert (found[QUIET].hard, found[AT_LIMIT].hard, found[OVER_LIMIT].hard) == (2, 20, 20)
    assert [w.code for w in found[QUIET].warnings] == [HARD_BOUNCE_RATE]
    assert list(only_quiet) == [QUIET] and only_quiet[QUIET] == found[QUIET]
    assert other == {}


def test_an_edition_still_sending_is_counted_in_the_ledger(engine):
    """No rollup yet, or one older than the last deliveries: the ledger's rows count."""
    ids = add_customers(engine, 41)
    hand_over(engine, QUIET, ids[:40], complete=False)
    report(engine, QUIET, HARD, ids[:1])  # 1 of 40: 2.5%
    with engine.connect() as conn:
        [sending] = deliverability_by_edition(conn, WEEKS).values()
    assert (sending.sent, sending.hard, [w.code for w in sending.warnings]) == (40, 1, [HARD_BOUNCE_RATE])
    refresh(engine)  # the rollup of an unfinished send: still counted in the ledger
    edition = ledger.EditionKey("weekly", QUIET)
    with engine.begin() as conn:
        conn.execute(delivery.update().where(edition.where(), delivery.c.customer_id == ids[-1])
                     .values(state=ledger.PENDING))
    more = ledger.claim_batch(for_writes(engine), edition, "w2", 10, 60)
    ledger.record(for_writes(engine), "w2", [ledger.Outcome(c.id, ledger.SENT, message_id=message_id(QUIET, 99))
                                             for c in more])
    with engine.connect() as conn:
        assert deliverability_by_edition(conn, WEEKS)[QUIET].sent == 41
    with engine.begin() as conn:
        assert ledger.complete_if_done(conn, edition)
    refresh(engine)
    with engine.connect() as conn:
        settled = deliverability_by_edition(conn, WEEKS)[QUIET]
    assert (settled.sent, settled.hard) == (41, 1)


def test_the_rollup_stands_for_a_completed_edition_until_a_re_run_changes_it(engine, editions):
    """Once the send completed before the last refresh, its rollup is the count (no ledger scan);
    a later run of the edition makes the ledger count again until the next refresh."""
    with engine.connect() as conn:
        assert deliverability_by_edition(conn, WEEKS)[QUIET].sent == 50
    with engine.begin() as conn:  # the rollup is what is read: a change only it has shows
        conn.execute(delivery.delete().where(delivery.c.edition_date == QUIET,
                                                    delivery.c.customer_id == editions[0]))
    with engine.connect() as conn:
        assert deliverability_by_edition(conn, WEEKS)[QUIET].sent == 50
    with engine.begin() as conn:
        ledger.start_run(conn, ledger.EditionKey("weekly", QUIET), None)  # a re-run (updated_at moves on)
    with engine.connect() as conn:
        assert deliverability_by_edition(conn, WEEKS)[QUIET].sent == 49
    refresh(engine)
    with engine.connect() as conn:
        assert deliverability_by_edition(conn, WEEKS)[QUIET].sent == 49


def test_the_page_query_uses_the_indexes(engine, editions):
    """The ledger count walks ix_delivery_work, the reports ix_bounce_report_edition."""
    caught: list[tuple[str, object]] = []

    def catch(conn, cursor, statement, parameters, context, executemany):
        caught.append((statement, parameters))

    with engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", catch)
        sent_in_ledger(conn, "weekly", [QUIET])
        deliverability_by_edition(conn, WEEKS)
        event.remove(conn, "before_cursor_execute", catch)
        sqlite = conn.dialect.name == "sqlite"
        if not sqlite:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a few rows: PostgreSQL would rather scan
        plans = []
        for statement, parameters in (caught[0], caught[1]):
            rows = conn.exec_driver_sql(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters)
            plans.append(" ".join(str(row[-1]) for row in rows))
    counted, page = plans
    assert "ix_delivery_work" in counted, counted
    assert "ix_bounce_report_edition" in page, page


def test_the_limits_hold_at_any_size():
    assert Deliverability(QUIET, sent=1_000_000, complaints=1000, hard=20_000).warnings == ()
    assert [w.code for w in Deliverability(QUIET, sent=1_000_000, complaints=1001, hard=20_001).warnings] == \
        [COMPLAINT_RATE, HARD_BOUNCE_RATE]
    assert Deliverability(QUIET, sent=0, hard=3).warnings == ()  # nothing handed over: no rate

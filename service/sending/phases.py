"""The two phases of a tested edition (``send --test 10%``) in the ledger.

- Test phase: the plan inserts every new customer ``held`` and, in the same transaction, draws
  the test sample among them (``draw_sample``: the keyed hash of service/content/experiments.py's
  ``in_test_sample``): those become ``pending`` with phase ``test`` and are sent as any edition,
  each with their own arms; the others stay ``held`` (phase ``rest``): never claimed, not
  terminal, so the run is not complete. When no row of the sample is left to send, the test is
  done (``mark_test_done``: ``decide_after`` counts from then).
- Release: once every experiment of the edition is decided (service/experiments records the
  decisions first), ``release`` turns every held row ``pending`` with phase ``winner`` and the
  winners' arms in ``arms``, in one transaction; the workers give such a row those arms
  (``Claim.given_arms``) instead of the customer's own. Customers planned later get the same.

A row of the sample never becomes a winner row (release touches held rows only), and every
customer has one row per edition: nobody gets two messages, nobody in the sample the winner too.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select, update

from preferences.models import customer_table
from preferences.utc import utcnow
from service.content.experiments import bucket_with, hasher
from service.sending.ledger import EditionKey, get_run
from service.sending.tables import CLAIMED, HELD, PENDING, REST, TEST, WINNER, delivery, send_run

CHUNK = 5_000  # ids per UPDATE ... WHERE id IN (...)


def testing(run) -> bool:
    """The run is a tested edition's, in its test phase (the held rows wait for the decision)."""
    return run is not None and run.test_share is not None and run.released_at is None


def released(run) -> bool:
    return run is not None and run.released_at is not None


def start_test(conn: Connection, edition: EditionKey, share: int) -> None:
    """Make the run a tested one with this sample share (basis points), unless it is already."""
    r = send_run.c
    conn.execute(update(send_run).where(r.template == edition.template, r.edition_date == edition.day,
                                        r.test_share.is_(None)).values(test_share=share))


def plan_values(run) -> dict:
    """How the plan inserts new rows of this run (ledger.plan_all_pending's keywords)."""
    if testing(run):
        return dict(state=HELD)
    if released(run):
        return dict(phase=WINNER, arms=run.winner_arms or "")
    return {}


def draw_sample(conn: Connection, edition: EditionKey, key: bytes, share: int, after: int,
                upto: int | None) -> int:
    """Of the held rows not drawn yet among customer ids (after, upto], make the test sample's
    ``pending`` (phase test) and mark the others ``rest``; the sample's rows made pending."""
    c, k = delivery.c, customer_table.c
    where = [edition.where(), c.state == HELD, c.phase.is_(None), c.customer_id > after]
    if upto is not None:
        where.append(c.customer_id <= upto)
    rows = conn.execute(select(c.id, k.public_id).join_from(delivery, customer_table, k.id == c.customer_id)
                        .where(*where)).all()
    sample = hasher(key, f"test-sample\x1f{edition.template}/{edition.day.isoformat()}")
    chosen = [i for i, public_id in rows if bucket_with(sample, public_id) < share]
    rest = sorted(set(i for i, _ in rows) - set(chosen))
    for ids, values in ((chosen, dict(state=PENDING, phase=TEST)), (rest, dict(phase=REST))):
        for start in range(0, len(ids), CHUNK):
            conn.execute(update(delivery).where(c.id.in_(bindparam("ids", expanding=True)), c.state == HELD)
                         .values(**values), {"ids": ids[start:start + CHUNK]})
    return len(chosen)


def mark_test_done(conn: Connection, edition: EditionKey):
    """Note when the test sample was through (planned in full, none of it pending or claimed);
    the run as it is then (None: there is none)."""
    run = get_run(conn, edition)
    if not testing(run) or run.test_done_at is not None or not run.plan_complete:
        return run
    c = delivery.c
    left = conn.execute(select(c.id).where(edition.where(), c.state.in_((PENDING, CLAIMED))).limit(1)).first()
    if left is None:
        r = send_run.c
        conn.execute(update(send_run).where(r.id == run.id, r.test_done_at.is_(None))
                     .values(test_done_at=utcnow(), updated_at=utcnow()))
        run = get_run(conn, edition)
    return run


def release(conn: Connection, edition: EditionKey, winner_arms: str) -> int:
    """Send the held rows the winners: pending, phase winner, with ``winner_arms``
    (``exp=b;...``); at most once per run (a second call changes nothing). The rows released."""
    r, c = send_run.c, delivery.c
    now = utcnow()
    done = conn.execute(update(send_run).where(r.template == edition.template, r.edition_date == edition.day,
                                               r.test_share.is_not(None), r.released_at.is_(None))
                        .values(released_at=now, winner_arms=winner_arms, updated_at=now))
    if not done.rowcount:
        return 0
    result = conn.execute(update(delivery).where(edition.where(), c.state == HELD)
                          .values(state=PENDING, phase=WINNER, arms=winner_arms, attempts=0, reason=None,
                                  claimed_by=None, claimed_at=None, updated_at=now),
                          execution_options={"preserve_rowcount": True})
    return result.rowcount


def held_count(conn: Connection, edition: EditionKey) -> int:
    c = delivery.c
    return conn.execute(select(func.count()).where(edition.where(), c.state == HELD)).scalar_one()


def tested_runs(conn: Connection) -> list:
    """Tested editions not complete yet, oldest first: `send --due` sees each through its phases."""
    r = send_run.c
    return conn.execute(select(send_run).where(r.test_share.is_not(None), r.completed_at.is_(None))
                        .order_by(r.edition_date, r.template)).all()

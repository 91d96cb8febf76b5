"""The test sample of a tested edition, planned in the database on SQLite and PostgreSQL: its
share within a percentage point of 10% over 10,000 customers, the same on a re-run and when the
draw is redone after a crash, and independent of the arms (about half of it in each arm)."""

from __future__ import annotations

from sqlalchemy import update

from service.content.experiments import bucket
from service.sending import ledger
from service.sending.plan import plan_run
from service.sending.spec import SendSpec
from service.sending.tables import HELD, delivery
from send_fixtures import add_customers, db_url, engine, migrated_postgres_url, settings_for  # noqa: F401
from tested_sends import CONTENT_LOADED, EXPERIMENT, KEY, rows

CUSTOMERS = 10_000


def sample(engine) -> set[int]:
    return {c for c, r in rows(engine).items() if r.phase == "test"}


def test_the_sample_is_ten_percent_the_same_each_time_and_spread_over_the_arms(engine, db_url):  # noqa: F811
    ids = add_customers(engine, CUSTOMERS)
    spec = SendSpec(settings_for(db_url), "weekly", KEY.day, "maildir:unused", test_share=1000)
    plan_run(engine, CONTENT_LOADED, spec)
    first = sample(engine)
    assert abs(len(first) / len(ids) - 0.10) <= 0.01
    found = rows(engine)
    assert {found[c].state for c in first} == {"pending"} and {r.state for c, r in found.items() if c not in first} == {HELD}
    plan_run(engine, CONTENT_LOADED, spec)  # a re-run
    assert sample(engine) == first
    with engine.begin() as conn:  # as if the run died between the rows' insert and the draw
        conn.execute(update(delivery).values(state=HELD, phase=None))
    plan_run(engine, CONTENT_LOADED, spec)
    assert sample(engine) == first
    # Independent of the arms' buckets: the even split holds inside the sample too.
    key = settings_for(db_url).experiment_key
    in_b = sum(bucket(key, EXPERIMENT, f"pub{c:018d}A") < 5000 for c in first)
    assert abs(in_b / len(first) - 0.5) < 0.06
    with engine.connect() as conn:
        assert ledger.get_run(conn, KEY).test_share == 1000

"""The click recorder: batches written at least every second, a bounded buffer that counts what
it drops, nothing lost to a failed write; and the click table exactly as the migration makes it."""

from __future__ import annotations

import time
import warnings
from datetime import datetime, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select
from sqlmodel import SQLModel

from service.assembly.tracking import Target
from service.results.recorder import Click, ClickRecorder
from service.results.tables import click
from send_fixtures import add_customers, db_url, engine, migrated_postgres_url  # noqa: F401

TARGET = Target("weekly/2026-11-23", "offers/sledges", "offers", 0, "https://shop.example/sledges")


def a_click(n: int = 0) -> Click:
    return Click(TARGET, f"{n:022d}", datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), "h" * 64)


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(click)).scalar_one()


def test_the_migration_matches_the_table(engine):
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert [d for d in diffs if "'click'" in repr(d)] == []


def test_a_batch_is_one_write_and_a_click_without_delivery_has_no_segment(engine):
    recorder = ClickRecorder(engine)
    for n in range(250):
        recorder.record(a_click(n))
    assert recorder.pending == 250 and count(engine) == 0  # nothing written on the caller's time
    assert recorder.flush() == 250 and recorder.written == 250 and recorder.pending == 0
    with engine.connect() as conn:
        row = conn.execute(select(click).limit(1)).one()
    assert (row.owner, row.team, row.url, row.segment, row.variant) == \
        ("offers/sledges", "offers", "https://shop.example/sledges", None, None)


def test_the_thread_writes_within_a_second_and_stop_writes_the_rest(engine):
    recorder = ClickRecorder(engine, interval=0.2)
    recorder.start()
    try:
        recorder.record(a_click(1))
        deadline = time.monotonic() + 1.0
        while count(engine) < 1:
            assert time.monotonic() < deadline, "not written within a second"
            time.sleep(0.02)
        recorder.record(a_click(2))
    finally:
        recorder.stop()
    assert count(engine) == 2 and recorder.pending == 0


def test_a_full_buffer_drops_and_counts(engine):
    recorder = ClickRecorder(engine, capacity=3)
    for n in range(5):
        recorder.record(a_click(n))
    assert (recorder.recorded, recorder.dropped, recorder.pending) == (3, 2, 3)


def test_a_failed_write_keeps_the_clicks_for_the_next_one(engine, tmp_path):
    broken = create_engine(f"sqlite:///{tmp_path / 'missing' / 'no.db'}")  # cannot even be opened
    recorder = ClickRecorder(broken, capacity=4)
    for n in range(3):
        recorder.record(a_click(n))
    assert recorder.flush() == 0 and recorder.failed_batches == 1 and recorder.pending == 3
    recorder.record(a_click(3))
    recorder.record(a_click(4))  # the buffer is full again: this one is dropped and counted
    assert recorder.pending == 4 and recorder.dropped == 1
    recorder.engine = engine  # the database is back
    assert recorder.flush() == 4 and count(engine) == 4
    with engine.connect() as conn:
        customers = [r.customer for r in conn.execute(select(click).order_by(click.c.id))]
    assert customers == [f"{n:022d}" for n in range(4)]  # in the order they were clicked

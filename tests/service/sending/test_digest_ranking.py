"""The digest_ranking table: its migration matches the model, and the first decision stays."""

from __future__ import annotations

import warnings
from datetime import date

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from send_fixtures import db_url, engine, migrated_postgres_url  # noqa: F401
from service.assembly.digest import Measured, Ranking
from service.sending.digests import decide_rankings, decided

DAY = date(2026, 12, 7)


def test_the_migration_matches_the_table(engine):  # noqa: F811
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert [d for d in diffs if "'digest_ranking'" in repr(d)] == []


def test_the_first_decision_of_an_edition_stays(engine):  # noqa: F811
    first = Ranking("best of 4w", date(2026, 11, 9), date(2026, 12, 6), (date(2026, 11, 30),),
                    {"vip": {"offers/a": Measured(3, 200)}})
    later = Ranking("best of 4w", date(2026, 11, 9), date(2026, 12, 6), (), {"vip": {"offers/b": Measured(9, 200)}})
    assert decided(engine, "weekly", DAY) == {}
    with engine.begin() as conn:
        kept = decide_rankings(conn, "weekly", DAY, {"best of 4w": first})
    with engine.begin() as conn:
        again = decide_rankings(conn, "weekly", DAY, {"best of 4w": later})
    assert kept["best of 4w"].segments == again["best of 4w"].segments == {"vip": {"offers/a": Measured(3, 200)}}
    assert decided(engine, "weekly", DAY)["best of 4w"].editions == (date(2026, 11, 30),)
    assert decided(engine, "weekly", date(2026, 12, 14)) == {}

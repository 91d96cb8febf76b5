"""The block editor's record of saves, on SQLite and PostgreSQL: the table as the migration makes
it, the author of a version (an approval keeps the author of what it approved), the last change
of each block of a team, and each save in the audit trail too."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlmodel import SQLModel

from service.staff import accounts, block_changes
from service.staff.passwords import Passwords
from service.staff.tables import staff_event
from send_fixtures import db_url, engine, migrated_postgres_url  # noqa: F401

PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))


def test_the_table_is_the_migrations(engine):  # noqa: F811
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diffs if "block_change" in repr(d)] == []


def test_authors_approvals_and_the_latest_change_per_block(engine):  # noqa: F811
    with engine.begin() as conn:
        lena = accounts.add(conn, PASSWORDS, "lena", "lena@n.example", "advice", "editor", "correct horse battery", by="t")
        max_ = accounts.add(conn, PASSWORDS, "max", "max@n.example", "advice", "reviewer", "correct horse battery", by="t")
        block_changes.record_change(conn, lena, block="advice/a.en", action="edited", version="v1", previous="v0",
                                    author="lena", status="draft", git_commit="c" * 40)
        block_changes.record_change(conn, max_, block="advice/a.en", action="approved", version="v2", previous="v1",
                                    author="lena", status="ready", git_commit=None)
        block_changes.record_change(conn, lena, block="advice/b.en", action="created", version="w1", previous=None,
                                    author="lena", status="draft", git_commit=None)
    with engine.connect() as conn:
        assert block_changes.author_of(conn, "advice/a.en", "v1") == "lena"
        assert block_changes.author_of(conn, "advice/a.en", "v2") == "lena"  # max approved lena's text
        assert block_changes.author_of(conn, "advice/a.en", "v9") is None
        latest = block_changes.latest_of_team(conn, "advice")
        assert {k: (c.action, c.actor) for k, c in latest.items()} == {"advice/a.en": ("approved", "max"),
                                                                       "advice/b.en": ("created", "lena")}
        assert block_changes.latest_of_team(conn, "offers") == {}
        assert [c.version for c in block_changes.history_of(conn, "advice/a.en")] == ["v2", "v1"]
        audit = conn.execute(select(staff_event.c.actor, staff_event.c.action, staff_event.c.detail)
                             .where(staff_event.c.action.like("block-%")).order_by(staff_event.c.id)).all()
    assert audit == [("lena", "block-edited", f"advice/a.en v1 commit {'c' * 12}"),
                     ("max", "block-approved", "advice/a.en v2"), ("lena", "block-created", "advice/b.en w1")]

import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, Table, select
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from preferences.database import (
    BUSY_TIMEOUT_MS,
    MIGRATIONS,
    WriterBusy,
    alembic_config,
    downgrade,
    for_writes,
    make_engine,
    normalise_url,
    upgrade,
)
from preferences.models import Customer
import preferences.models  # noqa: F401  (registers the tables)
import preferences.suppression.tables  # noqa: F401  (the suppression list and bounce reports)
import preferences.optin.tables  # noqa: F401  (double opt-in)
from preferences.utc import UTCDateTime

ROOT = Path(__file__).resolve().parents[2]
OUR_TABLES = {"customer", "preference", "consent_event", "suppression", "bounce_report", "opt_in", "consent_text",
              "outbox"}


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# SQLite tuning --------------------------------------------------------------------------------

def test_sqlite_gets_its_folder_wal_busy_timeout_and_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'newsletter.db'}"
    engine = make_engine(url)
    connections = [engine.connect() for _ in range(3)]  # every pooled connection, not just the first
    try:
        for conn in connections:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        for conn in connections:
            conn.close()
        engine.dispose()
    assert (tmp_path / "deep" / "er" / "newsletter.db").exists()


def test_sqlite_in_memory_is_one_shared_database():
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0


def test_savepoints_work_on_sqlite(sqlite_url):
    # The reason make_engine takes BEGIN away from the sqlite3 module.
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.commit()
        with conn.begin():
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            nested = conn.begin_nested()
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            nested.rollback()
        assert conn.exec_driver_sql("SELECT x FROM t").scalars().all() == [1]
        conn.rollback()
        with conn.begin() as outer:
            conn.begin_nested().commit()
            conn.exec_driver_sql("INSERT INTO t VALUES (3)")
            outer.rollback()
        assert conn.exec_driver_sql("SELECT x FROM t").scalars().all() == [1]
    engine.dispose()


def test_sqlite_begin_immediate_takes_the_write_lock_at_once(sqlite_url):
    engine = for_writes(make_engine(sqlite_url))
    other = sqlite3.connect(make_url(sqlite_url).database, timeout=0, isolation_level=None)
    try:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("SELECT 1")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released at the end of the transaction
        other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()


def test_a_no_wait_writer_is_refused_at_once_when_another_process_writes(sqlite_url):
    engine = make_engine(sqlite_url)
    other = sqlite3.connect(make_url(sqlite_url).database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        started = time.monotonic()
        with pytest.raises(WriterBusy, match="another process"):
            with for_writes(engine, wait=False).begin():
                pass
        assert time.monotonic() - started < BUSY_TIMEOUT_MS / 1000 / 2  # did not wait for it
        other.execute("ROLLBACK")
        with for_writes(engine, wait=False).begin() as conn:  # free again: writes at once
            conn.exec_driver_sql("CREATE TABLE t (x)")
        with engine.connect() as conn:  # the busy timeout is back for every other use
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
    finally:
        other.close()
        engine.dispose()


def test_a_no_wait_writer_is_refused_while_a_thread_of_this_process_writes(sqlite_url):
    engine = make_engine(sqlite_url)
    with for_writes(engine).begin():
        outcome = []
        worker = threading.Thread(target=lambda: outcome.append(_try_no_wait(engine)))
        worker.start()
        worker.join()
    assert outcome == ["busy: another request of this process is writing"]
    assert _try_no_wait(engine) == "written"
    engine.dispose()


def _try_no_wait(engine) -> str:
    try:
        with for_writes(engine, wait=False).begin():
            return "written"
    except WriterBusy as busy:
        return f"busy: {busy}"


def test_a_bad_begin_mode_is_refused(sqlite_url):
    engine = make_engine(sqlite_url).execution_options(sqlite_begin="LATER")
    with pytest.raises(ValueError, match="sqlite_begin"):
        with engine.connect() as conn, conn.begin():
            pass


# PostgreSQL -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"])
def test_postgres_urls_use_psycopg_3(url):
    assert normalise_url(url).drivername == "postgresql+psycopg"


def test_postgres_engine_pings_before_use(postgres_url):
    engine = make_engine(postgres_url)
    assert engine.pool._pre_ping
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    engine.dispose()


# Migrations -----------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def migrated_url(request):
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    request.getfixturevalue("migrated_postgres")
    return request.getfixturevalue("postgres_url")


def test_upgrade_reaches_head_and_is_idempotent(migrated_url):
    upgrade(migrated_url)
    engine = make_engine(migrated_url)
    assert current_revision(engine) == head()
    assert OUR_TABLES <= set(sqlalchemy.inspect(engine).get_table_names())
    engine.dispose()


def test_the_models_match_the_migrations(migrated_url):
    engine = make_engine(migrated_url)
    with engine.connect() as conn, warnings.catch_warnings():
        # Expression indexes (lower(email)) cannot be reflected on every backend; checked below.
        warnings.simplefilter("ignore")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)

    def ours(diff):
        text = repr(diff)
        return any(f"'{table}'" in text or f"Table('{table}'" in text for table in OUR_TABLES)

    assert [d for d in diffs if ours(d)] == []
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'uq_customer_email_lower'").scalar()
        else:
            sql = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_customer_email_lower'").scalar()
    assert "UNIQUE" in sql and "lower(" in sql.lower()
    engine.dispose()


def test_downgrade_to_base_and_back_on_sqlite(sqlite_url):
    downgrade(sqlite_url, "base")
    engine = make_engine(sqlite_url)
    assert not OUR_TABLES & set(sqlalchemy.inspect(engine).get_table_names())
    upgrade(sqlite_url)
    assert OUR_TABLES <= set(sqlalchemy.inspect(engine).get_table_names())
    engine.dispose()


def test_downgrade_to_base_and_back_on_postgres(postgres_url):
    # A database of its own: the worker's database stays migrated for the other tests.
    url = make_url(postgres_url)
    scratch = url.set(database=f"{url.database}_migrations")
    admin = sqlalchemy.create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{scratch.database}"')
    try:
        upgrade(scratch)
        downgrade(scratch, "base")
        engine = make_engine(scratch)
        assert not OUR_TABLES & set(sqlalchemy.inspect(engine).get_table_names())
        engine.dispose()
        upgrade(scratch)
        engine = make_engine(scratch)
        assert current_revision(engine) == head()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)')
        admin.dispose()


def test_upgrade_does_not_depend_on_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    upgrade(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert (tmp_path / "elsewhere.db").exists()
    assert MIGRATIONS == ROOT / "migrations"


def test_the_alembic_command_line_works_from_anywhere(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli' / 'newsletter.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "-x", f"url={url}", "upgrade", "head"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    engine = make_engine(url)
    assert current_revision(engine) == head()
    engine.dispose()
    # Autogenerate finds nothing to do: every model table is in env.py's metadata and migrated.
    check = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "-x", f"url={url}", "check"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_new_revisions_import_sqlmodel():
    assert "import sqlmodel" in (MIGRATIONS / "script.py.mako").read_text()


# UTC timestamps -------------------------------------------------------------------------------

@pytest.fixture
def stamps(engine):
    table = Table("stamps", MetaData(), Column("at", UTCDateTime()))
    table.create(engine)
    yield table
    table.drop(engine)


def test_timestamps_come_back_aware_and_in_utc(engine, stamps):
    berlin = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 23, 10, 30, 15, 123456, tzinfo=berlin)
    with engine.begin() as conn:
        conn.execute(stamps.insert().values(at=at))
    with engine.connect() as conn:
        stored = conn.execute(select(stamps.c.at)).scalar_one()
    assert stored == at and stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.hour == 9


def test_naive_timestamps_are_refused(engine):
    with Session(engine) as session:
        session.add(Customer(external_id="x", email="x@example.com", locale="de", created_at=datetime(2026, 1, 1)))
        with pytest.raises(sqlalchemy.exc.StatementError, match="naive"):
            session.flush()

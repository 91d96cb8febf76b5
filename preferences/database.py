"""Database engines and schema migrations for SQLite (the default) and PostgreSQL.

``make_engine(url)`` gives an engine tuned for the database behind the URL; ``upgrade(url)``
applies the Alembic migrations in ``migrations/`` up to head. The URL is passed in by the caller
(``Settings.database_url``); nothing here reads the environment.
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"

# SQLite waits this long for another writer's lock before giving up with "database is locked".
BUSY_TIMEOUT_MS = 5000

# Execution option: engine.execution_options(sqlite_begin="IMMEDIATE") takes SQLite's write lock
# when the transaction starts. Use it for short read-then-write transactions (saving the page,
# one-click unsubscribe): a deferred transaction that read before another writer committed cannot
# upgrade to a write lock and fails at once, busy timeout or not. Ignored on PostgreSQL.
SQLITE_BEGIN = "sqlite_begin"
# Execution option: sqlite_wait=False makes an IMMEDIATE or EXCLUSIVE begin fail at once with
# WriterBusy when another writer holds the lock, instead of waiting for it (see for_writes).
SQLITE_WAIT = "sqlite_wait"


class WriterBusy(RuntimeError):
    """A no-wait write transaction found SQLite's write lock taken (by this process or another)."""


def normalise_url(url: str | URL) -> URL:
    """The URL with a driver we ship: ``postgres://`` and ``postgresql://`` mean psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _is_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:")


def make_engine(url: str | URL) -> sqlalchemy.Engine:
    """An engine for ``url``: SQLite in WAL mode with a busy timeout and foreign keys on, or
    PostgreSQL with a pre-ping on every checkout (a restarted server is not an error page).
    For a SQLite file, the folder holding it is created."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sqlalchemy.create_engine(parsed, pool_pre_ping=True)

    if _is_memory(parsed):
        # One shared connection, or every checkout would see its own empty database.
        engine = sqlalchemy.create_engine(
            parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        if not parsed.query.get("uri"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sqlalchemy.create_engine(parsed)
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: sqlalchemy.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the sqlite3 module, which would not BEGIN before a
        # SELECT or SAVEPOINT (SQLAlchemy's documented recipe): SQLAlchemy emits BEGIN below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL: readers (the send) never block the writer (the preference page) and vice versa.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # NORMAL is durable across application crashes in WAL mode and much faster than FULL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Writers of this process queue on a lock instead of in SQLite's busy handler, which sleeps
    # in growing steps (it made the slowest saves wait for seconds). Other processes
    # still meet the busy timeout; the lock gives up after the same time and lets SQLite decide.
    write_lock = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        options = conn.get_execution_options()
        mode, wait = options.get(SQLITE_BEGIN, "DEFERRED"), options.get(SQLITE_WAIT, True)
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"{SQLITE_BEGIN} must be DEFERRED, IMMEDIATE or EXCLUSIVE, not {mode!r}")
        # BEGIN on the DBAPI connection itself: the statement exec_driver_sql would send, without
        # its execution context, which cost more than the statement (every transaction begins).
        dbapi_connection = conn.connection.dbapi_connection
        if mode == "DEFERRED":
            _begin(dbapi_connection, "BEGIN DEFERRED", conn.dialect)
            return
        held = write_lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000) if wait else write_lock.acquire(blocking=False)
        if not held and not wait:
            raise WriterBusy("another request of this process is writing")
        try:
            if not wait:
                dbapi_connection.execute("PRAGMA busy_timeout=0")
            try:
                _begin(dbapi_connection, f"BEGIN {mode}", conn.dialect)
            finally:
                if not wait:
                    dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except sqlalchemy.exc.OperationalError as error:
            if held:
                write_lock.release()
            if not wait and "locked" in str(error.orig):
                raise WriterBusy("another process is writing") from error
            raise
        except BaseException:
            if held:
                write_lock.release()
            raise
        if held:
            conn.info["holds_write_lock"] = True

    def _release(conn):
        if conn.info.pop("holds_write_lock", False):
            write_lock.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def _begin(dbapi_connection, statement: str, dialect) -> None:
    """Run ``statement`` on the DBAPI connection; a driver error is raised as SQLAlchemy's."""
    error_class = dialect.loaded_dbapi.Error
    try:
        dbapi_connection.execute(statement)
    except error_class as error:
        raise sqlalchemy.exc.DBAPIError.instance(statement, None, error, error_class, dialect=dialect) from error


def for_writes(engine: sqlalchemy.Engine, *, wait: bool = True) -> sqlalchemy.Engine:
    """The same engine (same pool), but SQLite transactions begin IMMEDIATE: for request paths
    that read and then write, so concurrent writers queue for the busy timeout instead of
    failing with "database is locked". No effect on PostgreSQL, where the store locks rows.

    ``wait=False``: a transaction that would have to wait for another writer raises WriterBusy
    at once instead (a caller on an event loop then runs the write in a thread)."""
    return engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE", SQLITE_WAIT: wait})


def alembic_config(url: str | URL | None = None):
    """An Alembic Config for ``migrations/``, independent of the current directory."""
    from alembic.config import Config

    # No ini file: alembic.ini is for the command line, and its logging setup must not
    # reconfigure the logging of the service that calls upgrade().
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # Passed as an attribute, not a main option: ConfigParser would choke on a "%" in a
        # URL-encoded password.
        config.attributes["url"] = normalise_url(url).render_as_string(hide_password=False)
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Apply the migrations to ``revision`` (default: the newest) on the database at ``url``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | URL, revision: str) -> None:
    """Revert the migrations down to ``revision`` (``"base"``: an empty schema)."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)

"""Database fixtures for the preference tests: every store test runs on SQLite and PostgreSQL.

SQLite: a fresh file per test, migrated with upgrade(). PostgreSQL: this worker's database
(``postgres_url`` from tests/conftest.py) is migrated once per session and emptied before each
test.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session

from preferences.database import make_engine, upgrade

TABLES = ("outbox", "opt_in", "consent_text", "bounce_report", "suppression", "consent_event", "preference",
          "customer")


@pytest.fixture(scope="session")
def migrated_postgres(postgres_url):
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'var' / 'newsletter.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request):
    if request.param == "sqlite":
        engine = make_engine(request.getfixturevalue("sqlite_url"))
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("migrated_postgres")
    # Emptied before (not after) the test, so a test that died half-way leaves nothing behind.
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    yield engine


@pytest.fixture
def session(engine):
    with Session(engine) as session:
        yield session

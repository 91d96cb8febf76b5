"""Shared fixtures: repository paths, service availability, per-worker PostgreSQL databases.

Tests that need a real server (PostgreSQL, Redis, Chromium) skip with the reason on a machine
without it; with NEWSLETTER_REQUIRE_SERVICES=1 (set by .ci/run) the same situation fails instead.
"""

from __future__ import annotations

import os
import socket
import pytest

REQUIRE_SERVICES = os.environ.get("NEWSLETTER_REQUIRE_SERVICES") == "1"
POSTGRES_ADMIN_URL = os.environ.get(
    "NEWSLETTER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def require(available: bool, why: str) -> None:
    """Skip (or, in CI, fail) the calling test when a service it needs is missing."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {why} (NEWSLETTER_REQUIRE_SERVICES=1)")
    pytest.skip(why)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> str:
    """A fresh PostgreSQL database of this xdist worker's own, dropped at the end of the session."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy.engine import make_url

    admin = make_url(POSTGRES_ADMIN_URL)
    require(port_open(admin.host or "127.0.0.1", admin.port or 5432),
            f"no PostgreSQL server at {admin.host}:{admin.port}")
    # The process id keeps two test runs on one machine (or one server) out of each other's way.
    name = f"newsletter_test_{worker_id}_{os.getpid()}"
    engine = sqlalchemy.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield admin.set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()

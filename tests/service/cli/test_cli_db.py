"""`newsletter db upgrade` on the embedded default and on a real PostgreSQL server."""

from __future__ import annotations

import sqlalchemy
from typer.testing import CliRunner

from service.cli.main import app

runner = CliRunner()


def tables(url: str) -> set[str]:
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_the_sqlite_file(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/var/n.db"
    monkeypatch.setenv("DATABASE_URL", url)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert {"customer", "preference", "consent_event"} <= tables(url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0  # idempotent


def test_upgrade_on_postgresql(postgres_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "is up to date" in result.output
    assert {"customer", "preference", "consent_event"} <= tables(postgres_url)


def test_unreachable_database_is_a_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody:secret@127.0.0.1:1/x")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "cannot migrate postgresql+psycopg://nobody:***@127.0.0.1:1/x" in result.output
    assert "secret" not in result.output and "Traceback" not in result.output

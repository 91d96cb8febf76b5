"""bench/send.py's databases (imported, not run): the scratch databases of one bench run (SQLite
files, or PostgreSQL databases of the run's own, dropped at the end), the demo customers in
them, and the recipients the single-core render rate is measured on."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Databases:
    """One bench run's databases: ``seed`` (set up once), then a fresh copy per measured send.

    SQLite: files in ``work``. PostgreSQL: databases named ``bench_send_<pid>_<name>`` on the
    server of ``admin`` (a URL of its maintenance database), copied with CREATE DATABASE ...
    TEMPLATE and all dropped by ``drop_all``; no other database is touched."""

    def __init__(self, kind: str, work: Path, admin: str = POSTGRES_ADMIN):
        if kind not in ("sqlite", "postgres"):
            raise SystemExit(f"--database must be sqlite or postgres, got {kind!r}")
        self.kind, self.work, self.created = kind, work, []
        self.admin = make_url(admin) if kind == "postgres" else None

    def _name(self, name: str) -> str:
        return f"bench_send_{os.getpid()}_{name}"

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.work / (name + '.db')}"
        return self.admin.set(database=self._name(name)).render_as_string(hide_password=False)

    def _server(self, sql: str) -> None:
        server = create_engine(self.admin, isolation_level="AUTOCOMMIT")
        try:
            with server.connect() as conn:
                conn.exec_driver_sql(sql)
        except OperationalError as exc:
            where = self.admin.render_as_string(hide_password=True)
            raise SystemExit(f"PostgreSQL at {where} (--postgres-admin) refused {sql!r}: {exc.orig}") from None
        finally:
            server.dispose()

    def create_seed(self) -> str:
        """The empty seed database's URL (migrated by ``setup``)."""
        if self.kind == "postgres":
            self._server(f'DROP DATABASE IF EXISTS "{self._name("seed")}" WITH (FORCE)')
            self._server(f'CREATE DATABASE "{self._name("seed")}"')
            self.created.append(self._name("seed"))
        return self.url("seed")

    def copy(self, name: str) -> str:
        """A fresh copy of the seed database, as ``name``."""
        if self.kind == "sqlite":
            shutil.copy(self.work / "seed.db", self.work / f"{name}.db")
        else:
            self._server(f'CREATE DATABASE "{self._name(name)}" TEMPLATE "{self._name("seed")}"')
            self.created.append(self._name(name))
        return self.url(name)

    def drop(self, name: str) -> None:
        if self.kind == "sqlite":
            (self.work / f"{name}.db").unlink(missing_ok=True)
        elif self._name(name) in self.created:
            self._server(f'DROP DATABASE IF EXISTS "{self._name(name)}" WITH (FORCE)')
            self.created.remove(self._name(name))

    def drop_all(self) -> None:
        for database in list(self.created):
            self._server(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            self.created.remove(database)


def setup(url: str, customers: int, edition) -> None:
    """Migrate the database and insert the demo customers with Core (in chunks)."""
    from preferences.csv_import import read_csv
    from preferences.database import make_engine, upgrade
    from preferences.models import customer_table, new_public_id, preference_table
    from service.content.check import load_content
    from service.cli.demo_customers import write_demo_csv

    upgrade(url)
    content = load_content(ROOT / "content")
    engine = make_engine(url)
    now = datetime.now(timezone.utc)
    chunk, number = 20_000, 0
    with tempfile.TemporaryDirectory() as scratch:
        for start in range(0, customers, chunk):
            size = min(chunk, customers - start)
            csv_path = Path(scratch) / "customers.csv"
            write_demo_csv(csv_path, size, content, seed=start + 1, today=edition)
            checked = read_csv(csv_path, schema=content.audience.attributes, locales=content.audience.locales)
            people, prefs = [], []
            for row in checked.rows:
                number += 1
                data = row.data
                local, _, domain = data.email.partition("@")
                people.append(dict(id=number, public_id=new_public_id(), external_id=f"CRM-{number:07d}",
                                   email=f"{local}.{number}@{domain}", first_name=data.first_name,
                                   locale=data.locale or "de", attributes=data.attributes or {},
                                   status=str(data.status or "active"), created_at=now, updated_at=now))
                prefs.append(dict(customer_id=number, frequency="weekly", paused_until=None,
                                  excluded_groups=[], version=1, updated_at=now))
            with engine.begin() as conn:
                conn.execute(insert(customer_table), people)
                conn.execute(insert(preference_table), prefs)
    engine.dispose()


def render_sample(url: str, limit: int) -> list:
    """The first ``limit`` active customers of the database as the workers see them (Recipient)."""
    from preferences.database import make_engine
    from preferences.models import customer_table, preference_table
    from service.assembly.recipient import Recipient

    c, p = customer_table.c, preference_table.c
    statement = (select(c.id, c.public_id, c.email, c.first_name, c.locale, c.attributes,
                        p.excluded_groups, p.click_tracking)
                 .join_from(customer_table, preference_table, p.customer_id == c.id)
                 .where(c.status == "active").order_by(c.id).limit(limit))
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [Recipient.from_row(row) for row in conn.execute(statement)]
    finally:
        engine.dispose()

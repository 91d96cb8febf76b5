"""Shared fixtures and helpers of the send tests: databases (SQLite and PostgreSQL), customers
inserted in bulk with Core, a test SMTP relay (aiosmtpd) on a free port.

Import the fixtures into a test module (``from send_fixtures import db_url, ...``); this is not a
conftest.py on purpose (conftest files collide between test folders here).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import func, insert, select, text

from preferences.database import make_engine, upgrade
from preferences.models import customer_table, preference_table
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"
EDITION = date(2026, 11, 23)  # a Monday with a full demo edition
TABLES = ("digest_ranking", "experiment_decision", "staff_event", "staff", "outbox", "opt_in", "consent_text", "bounce_report", "suppression", "result_state", "result_audience", "result_click", "block_group", "variant_block", "archive_edition", "archive_body", "click", "delivery", "send_run", "consent_event", "preference", "customer")
LIFECYCLES = ("subscriber", "first-buyer", "customer", "advocate")


@pytest.fixture(scope="session")
def migrated_postgres_url():
    """A migrated PostgreSQL database of this test process's own (by pid: other test sessions on
    the same server must not drop it under us), dropped at the end."""
    import os

    import sqlalchemy
    from sqlalchemy.engine import make_url

    admin = make_url(os.environ.get("NEWSLETTER_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    require_port(admin.host or "127.0.0.1", admin.port or 5432, "PostgreSQL")
    name = f"newsletter_send_{os.getpid()}"
    server = sqlalchemy.create_engine(admin, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with server.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.dispose()


def require_port(host: str, port: int, what: str) -> None:
    """Skip (or with NEWSLETTER_REQUIRE_SERVICES=1, as in CI, fail) without the server."""
    import os

    if _port_open(host, port):
        return
    if os.environ.get("NEWSLETTER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {what} at {host}:{port}")
    pytest.skip(f"no {what} server at {host}:{port}")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """A migrated, empty database: a fresh SQLite file, or this worker's PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'var' / 'newsletter.db'}"
        upgrade(url)
        return url
    url = request.getfixturevalue("migrated_postgres_url")
    engine = make_engine(url)
    empty_postgres(engine)
    engine.dispose()
    return url


@pytest.fixture
def cli_db_url(tmp_path, monkeypatch):
    """A migrated SQLite file that the ``newsletter`` command run in the test uses (DATABASE_URL)."""
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def empty_postgres(engine) -> None:
    """Every table the send touches emptied, ids restarted (a PostgreSQL database shared by tests)."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, content_dir=CONTENT)


def plan_and_deliver(engine, spec, content) -> None:
    """Plan ``spec``'s run and deliver everything pending with one worker, until none is left."""
    from service.sending.batch import BatchSender
    from service.sending.plan import plan_run

    plan_run(engine, content, spec)
    sender = BatchSender(spec, "w1", engine=engine, content=content)
    try:
        assert sender.run_until_done() == 0
    finally:
        sender.close()


def send_demo_edition(engine, url: str, outbox: Path, day: date = EDITION) -> tuple[list, dict]:
    """Send the demo edition (or the weekly of ``day``) to the customers there are, into a
    Maildir, with one worker; the messages as parsed from the Maildir, and the ledger's rows by
    customer id."""
    import mailbox
    from email import message_from_bytes, policy

    from service.content.check import load_content
    from service.sending import ledger
    from service.sending.spec import SendSpec

    spec = SendSpec(settings_for(url), "weekly", day, f"maildir:{outbox}")
    plan_and_deliver(engine, spec, load_content(CONTENT))
    with engine.connect() as conn:
        deliveries = {r.customer_id: r for r in ledger.deliveries_of(conn, ledger.EditionKey("weekly", day))}
    messages = [message_from_bytes(m.as_bytes(), policy=policy.default)
                for m in mailbox.Maildir(outbox, create=False)]
    return messages, deliveries


def attributes_for(number: int) -> dict:
    """Attributes spread over the demo segments (deterministic by number)."""
    lifecycle = LIFECYCLES[number % 4]
    found = {"lifecycle": lifecycle, "purchasing_power": 1 + number % 5, "loyalty_member": number % 3 == 0,
             "region": ("north", "south", "east", "west")[number % 4]}
    if lifecycle != "subscriber":
        found["last_order"] = "2026-10-01" if number % 2 else "2025-01-01"
        found["orders_12m"] = number % 7
    return found


def add_customers(engine, count: int, *, start: int | None = None,
                  status: Callable[[int], str] = lambda n: "active",
                  frequency: Callable[[int], str] = lambda n: "weekly",
                  paused_until: Callable[[int], date | None] = lambda n: None,
                  locale: Callable[[int], str] = lambda n: "de" if n % 4 else "en",
                  excluded: Callable[[int], list] = lambda n: [],
                  attributes: Callable[[int], dict] = attributes_for,
                  first_name: Callable[[int], str | None] = lambda n: f"Kunde{n}",
                  chunk: int = 5000) -> list[int]:
    """Insert ``count`` customers with their preferences; returns their ids."""
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        if start is None:
            start = (conn.execute(select(func.max(customer_table.c.id))).scalar() or 0) + 1
        ids = list(range(start, start + count))
        for low in range(0, count, chunk):
            part = ids[low:low + chunk]
            conn.execute(insert(customer_table), [
                # 22 characters ending in "A": a public id as new_public_id makes them, 16 bytes in
                # canonical base64 (the VERP return path carries the bytes).
                dict(id=n, public_id=f"pub{n:018d}A", external_id=f"CRM-{n}", email=f"kunde.{n}@example.com",
                     first_name=first_name(n), locale=locale(n), attributes=attributes(n), status=status(n),
                     created_at=now, updated_at=now) for n in part])
            conn.execute(insert(preference_table), [
                dict(customer_id=n, frequency=frequency(n), paused_until=paused_until(n),
                     excluded_groups=excluded(n), version=1, updated_at=now) for n in part])
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('customer', 'id'), "
                              "(SELECT max(id) FROM customer))"))
    return ids


def set_status(engine, customer_id: int, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(customer_table.update().where(customer_table.c.id == customer_id).values(status=status))


def set_paused(engine, customer_id: int, until: date | None) -> None:
    with engine.begin() as conn:
        conn.execute(preference_table.update().where(preference_table.c.customer_id == customer_id)
                     .values(paused_until=until))


# A test SMTP relay ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Relay:
    """What the test relay received, and how it should misbehave."""

    messages: list = field(default_factory=list)  # (mail_from, rcpt_tos, data)
    refuse: dict = field(default_factory=dict)  # recipient -> "550 ..." answer at RCPT
    busy_for: int = 0  # answer 452 to this many RCPTs, then accept
    mail_busy_for: int = 0  # answer 451 to this many MAIL FROMs (the relay, not a recipient), then accept
    drop_after: int | None = None  # close the connection at the RCPT after this many messages
    greylist: dict = field(default_factory=dict)  # recipient -> how many more RCPTs get 451, then 250
    data_defer: dict = field(default_factory=dict)  # recipient -> how many more DATAs get 451 at the end
    closing: set = field(default_factory=set)  # recipients whose RCPT gets 421 (and a closed connection)
    rcpts: int = 0
    rsets: int = 0
    peers: list = field(default_factory=list)  # the client's (host, port) at each RCPT: its connection
    rcpt_log: list = field(default_factory=list)  # (recipient, answer, monotonic time) per RCPT, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            if self.mail_busy_for > 0:
                self.mail_busy_for -= 1
                return "451 4.3.0 Mail server temporarily rejected message"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self._rcpt_answer(server, address)
        with self.lock:
            self.peers.append(session.peer)
            self.rcpt_log.append((address, answer, time.monotonic()))
        if answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return answer

    def _rcpt_answer(self, server, address) -> str:
        with self.lock:
            self.rcpts += 1
            if self.drop_after is not None and len(self.messages) >= self.drop_after:
                self.drop_after = None
                server.transport.close()
                return "421 closing"
            if address in self.closing:  # answered, then hung up (a relay that closes says so first)
                self.closing.discard(address)
                asyncio.get_running_loop().call_later(0.2, server.transport.close)
                return "421 4.7.0 closing, too many connections"
            if self.busy_for > 0:
                self.busy_for -= 1
                return "452 4.3.1 Insufficient system storage, try later"
            if self.greylist.get(address, 0) > 0:
                self.greylist[address] -= 1
                return "451 4.7.1 greylisted, try again later"
        return self.refuse.get(address, "250 OK")

    async def handle_RSET(self, server, session, envelope):
        with self.lock:
            self.rsets += 1
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            deferred = [r for r in envelope.rcpt_tos if self.data_defer.get(r, 0) > 0]
            for rcpt in deferred:
                self.data_defer[rcpt] -= 1
            if deferred:
                return "451 4.3.0 queue full for this mailbox, try later"
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 queued"

    def recipients(self) -> list[str]:
        return [rcpt for _, rcpts, _ in self.messages for rcpt in rcpts]


@pytest.fixture
def smtp_relay():
    """A running aiosmtpd relay on 127.0.0.1: (relay, port)."""
    from aiosmtpd.controller import Controller

    relay = Relay()
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    yield relay, port
    controller.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def age_deliveries(engine, ids=None, by=None) -> None:
    """Move the ledger's times of sending back (an hour by default): clicks then come as late as a
    reader's, not in the seconds after delivery when only a link scanner clicks."""
    from datetime import timedelta

    from service.sending.tables import delivery

    by = by or timedelta(hours=1)
    with engine.begin() as conn:
        found = conn.execute(select(delivery.c.id, delivery.c.updated_at)).all()
        for id_, at in found:
            if ids is None or id_ in ids:
                conn.execute(delivery.update().where(delivery.c.id == id_).values(updated_at=at - by))

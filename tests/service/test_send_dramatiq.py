"""The dramatiq engine: the actor and its chains on a StubBroker (in this process), then two real
`dramatiq` worker processes on Redis and PostgreSQL, one of them killed half-way."""

from __future__ import annotations

import importlib
import mailbox
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service import ledger
from service.content import load_content
from service.send_plan import plan_run
from service.send_spec import SendSpec
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           require_port, settings_for)

KEY = ledger.Edition("weekly", EDITION)


@pytest.fixture(scope="module")
def stub_engine():
    """service.dramatiq_engine bound to an in-memory StubBroker, with a worker running."""
    dramatiq = pytest.importorskip("dramatiq")
    saved = os.environ.get("NEWSLETTER_BROKER_URL")
    os.environ["NEWSLETTER_BROKER_URL"] = "stub://"
    try:
        sys.modules.pop("service.dramatiq_engine", None)
        module = importlib.import_module("service.dramatiq_engine")
    finally:
        if saved is None:
            os.environ.pop("NEWSLETTER_BROKER_URL", None)
        else:
            os.environ["NEWSLETTER_BROKER_URL"] = saved
    worker = dramatiq.Worker(module.broker, worker_threads=2, worker_timeout=100)
    worker.start()
    yield module
    worker.stop()
    sys.modules.pop("service.dramatiq_engine", None)


def test_the_message_carries_the_edition_not_customers_nor_the_password(stub_engine):
    spec = SendSpec(settings_for("sqlite://"), "weekly", EDITION, "smtp://news:s3cret@relay.example:2525?rate=5")
    payload = stub_engine.payload_for(spec)
    assert payload == {"template": "weekly", "day": "2026-11-23", "target": "smtp://news@relay.example:2525?rate=5",
                       "batch_size": 500, "lease": 120.0, "max_attempts": 5}
    assert stub_engine.spec_from(payload, spec.settings).day == EDITION


def test_chains_on_a_stub_broker_send_everyone_once_even_with_repeated_messages(stub_engine, engine, db_url,
                                                                                 tmp_path, monkeypatch):
    ids = add_customers(engine, 230)
    box = tmp_path / "outbox"
    settings = settings_for(db_url)
    monkeypatch.setattr(stub_engine, "SETTINGS", settings)  # the workers' own settings
    content = load_content(CONTENT)
    spec = SendSpec(settings, "weekly", EDITION, f"maildir:{box}", batch_size=40)
    # The broker delivers at least once: the same message, sent again, finds nothing more to do.
    result = stub_engine.run_dramatiq(engine, spec, lambda tick: plan_run(engine, content, spec), chains=3, poll=0.05)
    for _ in range(3):
        stub_engine.send_batch.send(stub_engine.payload_for(spec))
    stub_engine.broker.join(stub_engine.QUEUE, timeout=20_000)
    assert result.complete and result.counts["sent"] == 230
    messages = list(mailbox.Maildir(box, create=False))
    assert sorted(m["To"] for m in messages) == sorted(f"Kunde{n} <kunde.{n}@example.com>" for n in ids)
    with engine.connect() as conn:
        assert all(r.attempts == 1 for r in ledger.deliveries_of(conn, KEY))


def test_the_sender_tops_up_then_gives_up_when_no_worker_moves(stub_engine, engine, db_url, tmp_path,
                                                                 monkeypatch):
    add_customers(engine, 3)
    content = load_content(CONTENT)
    spec = SendSpec(settings_for(db_url), "weekly", EDITION, f"maildir:{tmp_path / 'box'}")
    sent = []

    class Nowhere:  # a broker nobody consumes from
        @staticmethod
        def send(payload):
            sent.append(payload)

    monkeypatch.setattr(stub_engine, "send_batch", Nowhere)
    now = [0.0]

    def clock():
        now[0] += 10.0
        return now[0]

    result = stub_engine.run_dramatiq(engine, spec, lambda tick: plan_run(engine, content, spec), chains=2,
                                      poll=0, stall=35, clock=clock)
    assert not result.complete and result.counts["pending"] == 3
    assert len(sent) == 4  # two chains, then two more when nothing moved for half the stall time


# Real Redis and PostgreSQL -------------------------------------------------------------------------

@pytest.mark.slow
def test_two_dramatiq_workers_on_redis_send_everyone_once(migrated_postgres_url, tmp_path):
    require_port("127.0.0.1", 6379, "Redis")
    from preferences.database import make_engine

    url = migrated_postgres_url
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE delivery, send_run, consent_event, preference, customer RESTART IDENTITY CASCADE")
    ids = add_customers(engine, 5000)
    box = tmp_path / "outbox"
    queue = f"newsletter-send-test-{os.getpid()}"
    env = dict(os.environ, DATABASE_URL=url, NEWSLETTER_BROKER_URL="redis://127.0.0.1:6379/0",
               NEWSLETTER_SEND_QUEUE=queue, NEWSLETTER_CONTENT_DIR=str(CONTENT))
    dramatiq = str(Path(sys.executable).with_name("dramatiq"))
    workers = [subprocess.Popen([dramatiq, "service.dramatiq_engine", "--processes", "1", "--threads", "1",
                                 "--queues", queue], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True) for _ in range(2)]
    try:
        sender = subprocess.Popen([sys.executable, "-c", "from service.cli import main; main()", "send", "weekly",
                                   "--date", EDITION.isoformat(), "--to", f"maildir:{box}", "--engine", "dramatiq",
                                   "--workers", "4", "--batch-size", "200", "--lease", "3"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # Kill one worker (its process group: the dramatiq parent and its worker process) half-way.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(os.listdir(box / "new") if (box / "new").exists() else []) < 1500:
            time.sleep(0.1)
        os.killpg(workers[0].pid, signal.SIGKILL)
        output = sender.communicate(timeout=180)[0].decode(errors="replace")
        assert sender.returncode == 0, output[-3000:]
    finally:
        for worker in workers:
            try:
                os.killpg(worker.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
    recipients = sorted(m["To"] for m in mailbox.Maildir(box, create=False))
    assert recipients == sorted(f"Kunde{n} <kunde.{n}@example.com>" for n in ids)  # each once, none missing
    with engine.connect() as conn:
        rows = ledger.deliveries_of(conn, KEY)
        assert {r.state for r in rows} == {"sent"} and len(rows) == 5000
        assert ledger.get_run(conn, KEY).completed_at is not None
    engine.dispose()

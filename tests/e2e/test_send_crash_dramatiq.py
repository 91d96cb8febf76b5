"""Crash test of the dramatiq engine: `newsletter send --engine dramatiq` with two real `dramatiq`
workers on Redis and PostgreSQL, workers and the sender SIGKILLed at random points (a killed
worker is started again, as its supervisor would), then run again until complete.

Afterwards every due customer has exactly one message in the Maildir, none is missing, none is
there twice, and no one who is not due got one."""

from __future__ import annotations

import email.parser
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from crash import kill_group

from preferences.database import make_engine
from preferences.due import due_reason

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from send_fixtures import (CONTENT, EDITION, add_customers, empty_postgres, migrated_postgres_url,  # noqa: E402,F401
                           require_port)
from test_send_crash import frequency, paused, status  # noqa: E402

from service.sending import ledger  # noqa: E402

pytestmark = pytest.mark.slow

CUSTOMERS = 20_000


def test_killed_dramatiq_workers_and_senders_deliver_exactly_once(migrated_postgres_url, tmp_path):
    require_port("127.0.0.1", 6379, "Redis")
    rng = random.Random(int(os.environ.get("SEND_CRASH_SEED", "5")))
    url = migrated_postgres_url
    engine = make_engine(url)
    empty_postgres(engine)
    ids = add_customers(engine, CUSTOMERS, frequency=frequency, paused_until=paused, status=status)
    box = tmp_path / "outbox"
    queue = f"newsletter-send-crash-{os.getpid()}"
    env = dict(os.environ, DATABASE_URL=url, NEWSLETTER_BROKER_URL="redis://127.0.0.1:6379/0",
               NEWSLETTER_SEND_QUEUE=queue, NEWSLETTER_CONTENT_DIR=str(CONTENT))
    dramatiq = str(Path(sys.executable).with_name("dramatiq"))

    def start_worker() -> subprocess.Popen:
        return subprocess.Popen([dramatiq, "service.sending.dramatiq_engine", "--processes", "1", "--threads", "1",
                                 "--queues", queue], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    def start_sender() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", "from service.cli.main import main; main()", "send", "weekly",
                                 "--date", EDITION.isoformat(), "--to", f"maildir:{box}", "--engine", "dramatiq",
                                 "--workers", "4", "--batch-size", "250", "--lease", "2"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

    workers = [start_worker(), start_worker()]
    kills, runs, started = Counter(), 0, time.monotonic()
    try:
        while True:
            runs += 1
            assert runs < 15, f"no complete run after {runs - 1} runs ({kills})"
            sender = start_sender()
            final = runs > 3  # the last runs go undisturbed: the test is about what they repair
            deadline = time.monotonic() + rng.uniform(3.0, 6.0)
            while not final and sender.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
                if rng.random() < 0.04:
                    index = rng.randrange(len(workers))
                    kill_group(workers[index].pid)  # the dramatiq parent and its worker
                    workers[index].wait()
                    workers[index] = start_worker()
                    kills["worker"] += 1
            if sender.poll() is None and not final:
                kill_group(sender.pid)
                kills["sender"] += 1
            output = sender.communicate(timeout=240)[0].decode(errors="replace")
            if sender.returncode == 0:
                break
            assert sender.returncode == -signal.SIGKILL, output[-3000:]
    finally:
        for worker in workers:
            kill_group(worker.pid)
            worker.wait(timeout=20)
        _drop_queue(queue)
    elapsed = time.monotonic() - started
    assert "complete" in output, output[-3000:]
    assert kills["worker"] + kills["sender"] >= 1, kills  # something was killed

    key = ledger.EditionKey("weekly", EDITION)
    with engine.connect() as conn:
        rows = {r.customer_id: r for r in ledger.deliveries_of(conn, key)}
        assert ledger.get_run(conn, key).completed_at is not None
    engine.dispose()
    assert {r.state for r in rows.values()} <= {"sent", "skipped"}
    sent = {n for n, r in rows.items() if r.state == "sent"}

    parser = email.parser.BytesHeaderParser()
    recipients = Counter()
    for name in os.listdir(box / "new"):
        with open(box / "new" / name, "rb") as handle:
            recipients[int(parser.parse(handle)["To"].split("kunde.")[1].split("@")[0])] += 1
    assert [n for n, k in recipients.items() if k > 1] == []  # none twice
    assert set(recipients) == sent  # the ledger and the Maildir agree

    previous = EDITION.fromordinal(EDITION.toordinal() - 7)
    due = {n for n in ids if status(n) == "active"
           and due_reason("active", frequency(n), paused(n), EDITION, None, previous) is None}
    assert sent == due  # none missing, no one who is not due
    print(f"\n{len(sent)} sent of {len(ids)} customers in {runs} runs, {elapsed:.1f} s; kills {dict(kills)}")


def _drop_queue(queue: str) -> None:
    """Remove what the killed runs left in Redis under this test's queue."""
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = list(client.scan_iter(f"dramatiq:{queue}*"))
    if keys:
        client.delete(*keys)
    client.close()

"""The dramatiq engine: the actor and its chains on a StubBroker (in this process). Real workers on
Redis and PostgreSQL, killed at random: tests/e2e/test_send_crash_dramatiq.py."""

from __future__ import annotations

import importlib
import mailbox
import os
import sys

import pytest

from service.content.check import load_content
from service.sending import ledger
from service.sending.plan import plan_run
from service.sending.spec import SendSpec
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           require_port, settings_for, smtp_relay)

KEY = ledger.EditionKey("weekly", EDITION)


@pytest.fixture(scope="module")
def stub_engine():
    """service.sending.dramatiq_engine bound to an in-memory StubBroker, with a worker running."""
    dramatiq = pytest.importorskip("dramatiq")
    saved = os.environ.get("NEWSLETTER_BROKER_URL")
    os.environ["NEWSLETTER_BROKER_URL"] = "stub://"
    try:
        sys.modules.pop("service.sending.dramatiq_engine", None)
        module = importlib.import_module("service.sending.dramatiq_engine")
    finally:
        if saved is None:
            os.environ.pop("NEWSLETTER_BROKER_URL", None)
        else:
            os.environ["NEWSLETTER_BROKER_URL"] = saved
    worker = dramatiq.Worker(module.broker, worker_threads=2, worker_timeout=100)
    worker.start()
    yield module
    worker.stop()
    sys.modules.pop("service.sending.dramatiq_engine", None)


def test_the_message_carries_the_edition_not_customers_nor_the_password(stub_engine):
    spec = SendSpec(settings_for("sqlite://"), "weekly", EDITION, "smtp://news:s3cret@relay.example:2525?rate=5")
    payload = stub_engine.payload_for(spec)
    assert payload == {"template": "weekly", "day": "2026-11-23", "target": "smtp://news@relay.example:2525?rate=5",
                       "batch_size": 500, "lease": 120.0, "max_attempts": 5, "retry_first_s": 60.0,
                       "retry_max_s": 600.0, "checked_content": None}
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
    # two chains; one more each time rows waited 15 s (a quarter lease, at most 15 s) without
    # movement, at 20 s and 40 s; two more when nothing moved for half the stall time (20 s)
    assert len(sent) == 6


def test_chains_wait_for_a_deferred_recipient_without_giving_up_and_say_so(stub_engine, engine, db_url,
                                                                           smtp_relay, monkeypatch):
    relay, port = smtp_relay
    ids = add_customers(engine, 4)
    relay.greylist[f"kunde.{ids[2]}@example.com"] = 1  # 451 once: retried after its back-off
    settings = settings_for(db_url)
    monkeypatch.setattr(stub_engine, "SETTINGS", settings)
    content = load_content(CONTENT)
    spec = SendSpec(settings, "weekly", EDITION, f"smtp://127.0.0.1:{port}?timeout=5", retry_first_s=6.0)
    said = []
    # stall=3 s (time for a worker to start): nothing moves for longer while the recipient waits 6 s
    result = stub_engine.run_dramatiq(engine, spec, lambda tick: plan_run(engine, content, spec), chains=1,
                                      poll=0.05, stall=3.0, waiting=said.append)
    assert result.complete and result.counts["sent"] == 4
    with engine.connect() as conn:
        assert {r.customer_id: r.attempts for r in ledger.deliveries_of(conn, KEY)}[ids[2]] == 2
    waits = [s.reason for s in said if s is not None]
    assert waits and all(w.startswith("waiting to retry 1 recipient the relay deferred") for w in waits)


# Real Redis and PostgreSQL, workers killed at random: tests/e2e/test_send_crash_dramatiq.py


def _watch_without_workers(stub_engine, engine, spec, monkeypatch, *, stall: float) -> list:
    """run_dramatiq with a broker nobody consumes from and a clock 10 s on per reading: the
    waits it reports, one per poll."""
    monkeypatch.setattr(stub_engine, "send_batch", type("Nowhere", (), {"send": staticmethod(lambda payload: None)}))
    now, statuses = [0.0], []

    def clock():
        now[0] += 10.0
        return now[0]

    content = load_content(CONTENT)
    stub_engine.run_dramatiq(engine, spec, lambda tick: plan_run(engine, content, spec), chains=1, poll=0,
                             stall=stall, clock=clock, waiting=statuses.append)
    return statuses


def test_a_rerun_says_it_waits_for_a_stopped_workers_claims_until_their_lease_ends(stub_engine, engine, db_url,
                                                                                     tmp_path, monkeypatch):
    from datetime import timedelta

    from preferences.database import for_writes
    from preferences.utc import utcnow

    add_customers(engine, 5)
    spec = SendSpec(settings_for(db_url), "weekly", EDITION, f"maildir:{tmp_path / 'box'}", lease=60)
    plan_run(engine, load_content(CONTENT), spec)
    claimed_at = utcnow() - timedelta(seconds=40)  # not renewed for 2/3 of a lease: its worker stopped
    assert len(ledger.claim_batch(for_writes(engine), KEY, "gone:1:0", 5, spec.lease)) == 5
    with engine.begin() as conn:
        conn.execute(ledger.delivery.update().values(claimed_at=claimed_at))
    statuses = _watch_without_workers(stub_engine, engine, spec, monkeypatch, stall=25)
    assert statuses and all(s is not None for s in statuses)
    assert statuses[0].reason == "waiting for 5 rows claimed by a stopped worker; their lease ends"
    assert abs((statuses[0].until - (claimed_at + timedelta(seconds=60))).total_seconds()) < 0.01


def test_a_live_workers_claims_are_not_taken_for_a_stopped_worker(stub_engine, engine, db_url, tmp_path, monkeypatch):
    from preferences.database import for_writes

    add_customers(engine, 5)
    spec = SendSpec(settings_for(db_url), "weekly", EDITION, f"maildir:{tmp_path / 'box'}", lease=60)
    plan_run(engine, load_content(CONTENT), spec)
    ledger.claim_batch(for_writes(engine), KEY, "busy:1:0", 5, spec.lease)  # just claimed: a live worker
    statuses = _watch_without_workers(stub_engine, engine, spec, monkeypatch, stall=25)
    assert statuses[0] is None


def test_the_sender_says_when_no_worker_takes_work(stub_engine, engine, db_url, tmp_path, monkeypatch):
    add_customers(engine, 3)
    spec = SendSpec(settings_for(db_url), "weekly", EDITION, f"maildir:{tmp_path / 'box'}")
    statuses = _watch_without_workers(stub_engine, engine, spec, monkeypatch, stall=45)
    assert statuses[0] is None  # nothing is late yet
    late = [s for s in statuses if s is not None]
    assert len(late) >= 2 and len(statuses) - len(late) == 3  # 10, 20 s after the plan: not yet
    assert late[0].until is None and late[0].reason == ("no worker has taken work for 30 s: is "
                                                        "`dramatiq service.sending.dramatiq_engine` running?")


def test_a_tested_editions_two_phases_on_dramatiq_chains(stub_engine, engine, db_url, tmp_path, monkeypatch):  # noqa: F811
    """The test phase ends when only held rows are left (no stall); after the release the same
    chains send the rest the winners' arms the ledger gives them (a stale worker knows nothing).
    A week later than the other tests' edition: their chains may still run on the shared database."""
    from datetime import timedelta

    from service.sending import phases

    day = EDITION + timedelta(days=7)
    key = ledger.EditionKey("weekly", day)

    ids = add_customers(engine, 200)
    box = tmp_path / "outbox"
    settings = settings_for(db_url)
    monkeypatch.setattr(stub_engine, "SETTINGS", settings)
    content = load_content(CONTENT)
    spec = SendSpec(settings, "weekly", day, f"maildir:{box}", batch_size=40, test_share=1000)
    result = stub_engine.run_dramatiq(engine, spec, lambda tick: plan_run(engine, content, spec), chains=2,
                                      poll=0.05, stall=5.0)
    assert not result.complete and result.counts["held"] > 150
    sample = result.counts["sent"]
    assert 0 < sample == len(list(mailbox.Maildir(box, create=False)))
    with engine.begin() as conn:
        assert phases.release(conn, key, "advice/heating-costs=b") == result.counts["held"]
    result = stub_engine.run_dramatiq(engine, spec, lambda tick: plan_run(engine, content, spec), chains=2, poll=0.05)
    assert result.complete and result.counts["sent"] == len(ids)
    with engine.connect() as conn:
        found = ledger.deliveries_of(conn, key)
    winners = [r for r in found if r.phase == "winner"]
    # The winner where the mail held the experiment; no arm where the variant has none (on this
    # edition the new subscribers' variants do not hold the block).
    assert {(r.variant.endswith("[advice/heating-costs=b]"), r.arms) for r in winners} == {
        (True, "advice/heating-costs=b"), (False, None)}
    assert len(list(mailbox.Maildir(box, create=False))) == len(ids)

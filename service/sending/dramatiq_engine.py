"""The ``dramatiq`` engine: the same batch work as the local pool, run by Dramatiq workers on any
number of machines sharing one PostgreSQL database and one broker (Redis).

A message names an edition and how to deliver it, never a customer or a rendered mail: the
actor claims one batch from the ledger (service/sending/batch.py), delivers it, and sends the next
message of its chain while rows are left. The broker delivers at least once and redelivers the
messages of a dead worker; the ledger's claims and leases decide who is sent, so a repeated
message costs a claim that finds nothing, never a second email. The relay's messages-per-second
limit is shared by every worker through Dramatiq's Redis-backed rate limiter.

Workers:  ``dramatiq service.sending.dramatiq_engine --processes 1 --threads 1``, one per core, each under
systemd or supervisord (deploy/: a dead worker process makes ``--processes N`` stop all N), with DATABASE_URL,
NEWSLETTER_BROKER_URL (and NEWSLETTER_SMTP_PASSWORD, if the relay needs one) in the environment.
The sender: ``newsletter send weekly --date D --to smtp://... --engine dramatiq --workers N``
plans the run, starts N chains and shows the progress until the run is complete; while rows are
claimable and nothing moves it starts one more chain now and then (a dead worker's chains, held or
prefetched, come back from Redis only a minute or more later), so live workers never idle.
``NEWSLETTER_BROKER_URL=stub://`` gives an in-memory StubBroker (tests); NEWSLETTER_SEND_QUEUE
names the queue (default newsletter-send).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import date, timedelta
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.rate_limits import WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend, StubBackend
from sqlalchemy import Engine

from preferences.database import for_writes

from service.delivery.registry import parse_target
from service.delivery.smtp import SmtpTarget
from service.sending import ledger
from service.sending.batch import BatchSender, worker_name
from service.sending.local_engine import EngineResult, Plan, Progress
from service.sending.spec import SendSpec
from service.sending.waiting import Waiting, retries_waiting, retry_wait, unrenewed_claims
from service.settings import Settings

STUB = "stub://"


def _make_broker(url: str):
    if url == STUB:
        return StubBroker(), StubBackend()
    from dramatiq.brokers.redis import RedisBroker

    return RedisBroker(url=url), RedisBackend(url=url)


# The worker process's edge: settings from its environment, read once at import (which is how
# the dramatiq command loads this module), and nowhere else.
SETTINGS = Settings.from_env()
# One queue per deployment (staging and production may share a Redis).
QUEUE = SETTINGS.send_queue
broker, rate_backend = _make_broker(SETTINGS.broker_url)
dramatiq.set_broker(broker)


def payload_for(spec: SendSpec) -> dict:
    """The message body: plain JSON, the edition and how to deliver it (no password)."""
    return dict(template=spec.template, day=spec.day.isoformat(), target=_without_password(spec.target),
                batch_size=spec.batch_size, lease=spec.lease, max_attempts=spec.max_attempts,
                retry_first_s=spec.retry_first_s, retry_max_s=spec.retry_max_s,
                checked_content=spec.checked_content)


def spec_from(payload: dict, settings: Settings) -> SendSpec:
    defaults = SendSpec(settings, payload["template"], date.fromisoformat(payload["day"]), payload["target"])
    # A message of an older sender may lack the back-off settings: the defaults then.
    return dataclasses.replace(defaults, batch_size=payload["batch_size"], lease=payload["lease"],
                               max_attempts=payload["max_attempts"],
                               retry_first_s=payload.get("retry_first_s", defaults.retry_first_s),
                               retry_max_s=payload.get("retry_max_s", defaults.retry_max_s),
                               checked_content=payload.get("checked_content"))


_local = threading.local()


def _sender(payload: dict) -> BatchSender:
    """This thread's sender for the payload's edition (kept: connection, content, variants)."""
    key = (payload["template"], payload["day"], payload["target"])
    senders = getattr(_local, "senders", None)
    if senders is None:
        senders = _local.senders = {}
    found = senders.get(key)
    if found is None:
        for old in senders.values():
            old.close()
        senders.clear()
        spec = spec_from(payload, SETTINGS)
        target = _with_password(parse_target(spec.target))
        deliverer = target.open(pace=_shared_pace(target))
        found = senders[key] = BatchSender(spec, worker_name(threading.get_ident() % 10_000), deliverer=deliverer)
    return found


@dramatiq.actor(queue_name=QUEUE, max_retries=20, min_backoff=1000, max_backoff=60_000, time_limit=30 * 60_000)
def send_batch(payload: dict) -> None:
    """Claim and deliver one batch of an edition; keep the chain going while rows are left."""
    sender = _sender(payload)
    result = sender.send_batch()
    if result is not None:
        delay = 0
        if result.deferred:  # the relay is struggling: give it a moment before the next batch
            delay = 5_000
        send_batch.send_with_options(args=(payload,), delay=delay)
        return
    with sender.engine.connect() as conn:
        wait = ledger.next_claimable_in(conn, sender.spec.edition, sender.spec.lease)
    if wait is not None:
        # Rows held by other workers (or by dead ones, until their lease runs out): look again
        # soon, not only when the lease ends: the holders usually finish long before.
        send_batch.send_with_options(args=(payload,), delay=int(min(max(wait, 0.5), 5.0) * 1000))


def run_dramatiq(engine: Engine, spec: SendSpec, plan: Plan, *, chains: int, progress: Progress | None = None,
                 poll: float = 0.5, stall: float | None = None, clock: Callable[[], float] = time.monotonic,
                 waiting: Callable[[Waiting | None], None] | None = None) -> EngineResult:
    """Plan here, start ``chains`` message chains, and watch the ledger until the run is complete;
    ``waiting`` hears what the run waits for (None: nothing, the work goes on).

    Gives up (complete=False) when nothing moved for ``stall`` seconds: no worker is running.
    Time in which every unfinished row waits out its back-off (recipients the relay deferred)
    is no stall: the chains look again every few seconds, and take them once it is over."""
    plan(lambda: None)
    payload = payload_for(spec)
    for _ in range(max(1, chains)):
        send_batch.send(payload)
    stall = stall if stall is not None else max(60.0, 3 * spec.lease)
    nudge = nudge_after(spec.lease, poll)
    last_counts, moved_at, topped_up, nudged_at = None, clock(), False, clock()
    while True:
        with engine.connect() as conn:
            counts = ledger.count_by_state(conn, spec.edition)
            retries = retries_waiting(conn, spec.edition) if counts[ledger.PENDING] else None
        held_back = retries[0] if retries else 0  # pending, but not claimable before their time
        resting = held_back and held_back == counts[ledger.PENDING] and not counts[ledger.CLAIMED]
        if progress:
            progress(counts)
        if counts[ledger.PENDING] + counts[ledger.CLAIMED] == 0:
            with for_writes(engine).begin() as conn:  # reads, then may write: SQLite's lock first
                complete = ledger.complete_if_done(conn, spec.edition)
            # Done; or done with what --limit planned, or with a tested edition's sample (the rest is held).
            if complete or not _plan_complete(engine, spec) or counts.get(ledger.HELD):
                return EngineResult(complete, counts)
        now = clock()
        if counts != last_counts or resting:
            last_counts, moved_at, topped_up, nudged_at = counts, now, False, now
        elif now - nudged_at > nudge and _claimable(counts, held_back, now - moved_at, spec.lease):
            # Rows wait while nothing moves: the chains may sit with a dead worker (running, or
            # prefetched, until Redis hands them back a minute or more later). One more chain
            # lets a live worker take them; a surplus chain ends when it finds nothing left.
            send_batch.send(payload)
            nudged_at = now
        if waiting and resting:
            waiting(retry_wait(*retries))
        elif waiting:
            with engine.connect() as conn:
                waiting(waiting_for(conn, spec, counts, still_for=now - moved_at))
        if now - moved_at > stall / 2 and not topped_up:
            # A chain may have been lost (its retries used up): start new ones; extras are harmless.
            for _ in range(max(1, chains)):
                send_batch.send(payload)
            topped_up = True
        elif now - moved_at > stall:
            return EngineResult(False, counts, relay_down=False)
        time.sleep(poll)


NO_WORKER_NOTICE = 30.0  # seconds without movement before the sender asks whether workers run


def waiting_for(conn, spec: SendSpec, counts: dict[str, int], *, still_for: float) -> Waiting | None:
    """What the run waits for: the claims of stopped workers when only they are left, or any
    worker at all when nothing moved for NO_WORKER_NOTICE seconds."""
    if counts[ledger.PENDING] == 0 and counts[ledger.CLAIMED]:
        held, latest = unrenewed_claims(conn, spec.edition, spec.lease / 2)
        if held:
            return Waiting(f"waiting for {held} rows claimed by a stopped worker; their lease ends",
                           latest + timedelta(seconds=spec.lease))
    if counts[ledger.PENDING] + counts[ledger.CLAIMED] and still_for >= NO_WORKER_NOTICE:
        return Waiting(f"no worker has taken work for {still_for:.0f} s: is "
                       "`dramatiq service.sending.dramatiq_engine` running?")
    return None


def nudge_after(lease: float, poll: float) -> float:
    """Seconds without movement, while rows are claimable, before the sender starts one more chain:
    short against a lease (a dead worker's chain must not idle the live ones for long), never
    shorter than a few polls."""
    return max(3 * poll, 1.0, min(lease / 4, 15.0))


def _claimable(counts: dict[str, int], held_back: int, still_for: float, lease: float) -> bool:
    """Rows a live worker could claim now: pending ones past their back-off (``held_back`` are
    not), or claims older than a lease."""
    return counts[ledger.PENDING] > held_back or (counts[ledger.CLAIMED] > 0 and still_for > lease)


def _plan_complete(engine: Engine, spec: SendSpec) -> bool:
    with engine.connect() as conn:
        run = ledger.get_run(conn, spec.edition)
    return bool(run and run.plan_complete)


def _shared_pace(target) -> Callable[[], None] | None:
    """For SMTP with a rate: wait for a slot of the relay's window, shared by all workers."""
    if not isinstance(target, SmtpTarget) or not target.rate:
        return None
    limiter = WindowRateLimiter(rate_backend, f"newsletter-smtp:{target.host}:{target.port}",
                                limit=max(1, int(target.rate)), window=1)

    def pace() -> None:
        while True:
            with limiter.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    return
            time.sleep(0.01)

    return pace


def _without_password(target: str) -> str:
    parts = urlsplit(target)
    if parts.scheme in ("smtp", "smtps") and parts.password:
        netloc = f"{parts.username}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return target


def _with_password(target):
    if isinstance(target, SmtpTarget) and target.username and not target.password:
        return dataclasses.replace(target, password=SETTINGS.smtp_password)
    return target

"""Engines that run an edition's batches: ``local`` (worker processes on this machine) or inline.

The parent plans the run while the workers start; each worker loops "claim a batch, render,
deliver, record" until no row is left (service/sending/batch.py). The parent watches the ledger for the
progress bar and replaces a worker that died (its claimed rows are taken over when their lease
runs out). Workers get the settings as plain values and build their own database engine,
content and renderer: nothing is shared between processes but the database.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Engine

from preferences.database import for_writes

from service.sending import ledger
from service.sending.batch import RELAY_BACKOFF_MAX_S, RELAY_DOWN_EXIT, BatchSender, worker_name
from service.sending.plan import PlanCounts
from service.sending.spec import SendSpec
from service.sending.waiting import Waiting, last_deferral, relay_wait, retries_waiting, retry_wait

Progress = Callable[[dict], None]  # called with ledger counts by state


@dataclass
class EngineResult:
    complete: bool
    counts: dict
    relay_down: bool = False
    worker_failures: int = 0


Plan = Callable[[Callable[[], None]], PlanCounts]  # plan(tick): tick between its batches


def run_inline(engine: Engine, spec: SendSpec, plan: Plan, progress: Progress | None = None) -> EngineResult:
    """Plan, then deliver in this process (tests, tiny editions, ``--workers 0``)."""
    plan(lambda: None)
    sender = BatchSender(spec, worker_name(0), engine=engine)
    try:
        code = sender.run_until_done()
    finally:
        sender.close()
    return _finish(engine, spec, progress, relay_down=code == RELAY_DOWN_EXIT)


def run_local(engine: Engine, spec: SendSpec, plan: Plan, *,
              workers: int, progress: Progress | None = None, poll: float = 0.5,
              max_restarts: int | None = None, waiting: Callable[[Waiting | None], None] | None = None,
              stalled_after: float = 2.0) -> EngineResult:
    """Run ``workers`` worker processes while ``plan(tick)`` runs here; wait until they finish.

    ``plan`` gets a ``tick`` to call between its batches, which updates the progress. When
    nothing was sent for ``stalled_after`` seconds, ``waiting`` hears what the send waits for
    (``stalled_status``: the relay's answer and the next try, or the deferred recipients and
    their next retry); None once it moves again."""
    context = multiprocessing.get_context("spawn")
    planning_done, stop = context.Event(), context.Event()
    max_restarts = workers * 5 if max_restarts is None else max_restarts
    processes: dict[int, multiprocessing.process.BaseProcess] = {}

    def start(index: int) -> None:
        process = context.Process(target=_worker_main, name=f"send-worker-{index}",
                                  args=(spec, index, planning_done, stop, os.getpid()), daemon=True)
        process.start()
        processes[index] = process

    last_poll, last_done, moved_at, said = 0.0, -1, time.monotonic(), None

    def tick(force: bool = False) -> None:
        nonlocal last_poll, last_done, moved_at, said
        if progress and (force or time.monotonic() - last_poll >= poll):
            last_poll = time.monotonic()
            with engine.connect() as conn:
                counts = ledger.count_by_state(conn, spec.edition)
                progress(counts)
                done = counts[ledger.SENT] + counts[ledger.FAILED]
                if done != last_done:
                    last_done, moved_at, status = done, last_poll, None
                elif last_poll - moved_at < stalled_after:
                    return
                else:
                    status = stalled_status(conn, spec)
            if waiting is not None and status != said:
                said = status
                waiting(status)

    failures, relay_down = 0, False
    try:
        for index in range(workers):
            start(index)
        plan(tick)
        planning_done.set()
        while processes:
            for index, process in list(processes.items()):
                if process.exitcode is None:
                    continue
                del processes[index]
                if process.exitcode == RELAY_DOWN_EXIT:
                    relay_down = True
                elif process.exitcode != 0:
                    failures += 1
                    if failures > max_restarts:
                        raise WorkerError(f"workers died {failures} times (last exit code {process.exitcode})")
                    start(index)
            tick()
            time.sleep(poll / 5)
    except BaseException:
        stop.set()
        for process in processes.values():
            process.join(timeout=5)
            if process.exitcode is None:
                process.kill()
        raise
    return _finish(engine, spec, progress, relay_down=relay_down, failures=failures)


def stalled_status(conn, spec: SendSpec) -> Waiting | None:
    """What a send that has not moved for a while waits for: the relay, which deferred a batch;
    or the recipients the relay deferred one by one, waiting out their back-off; None: neither."""
    deferral = last_deferral(conn, spec.edition)
    if deferral:
        return relay_wait(*deferral, RELAY_BACKOFF_MAX_S)
    retries = retries_waiting(conn, spec.edition)
    return retry_wait(*retries) if retries else None


class WorkerError(RuntimeError):
    """Worker processes kept dying: the run stops (the ledger keeps what was done)."""


def _finish(engine: Engine, spec: SendSpec, progress: Progress | None, *, relay_down: bool,
            failures: int = 0) -> EngineResult:
    with for_writes(engine).begin() as conn:  # reads, then may write: SQLite's lock first
        complete = ledger.complete_if_done(conn, spec.edition)
        counts = ledger.count_by_state(conn, spec.edition)
    if progress:
        progress(counts)
    return EngineResult(complete, counts, relay_down, failures)


def _worker_main(spec: SendSpec, index: int, planning_done, stop, parent_pid: int) -> None:
    # Ctrl-C goes to the whole process group: the parent decides, the workers finish their batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sender = BatchSender(spec, worker_name(index))
    try:
        # An orphan (the parent was killed) stops after its batch rather than run unwatched.
        code = sender.run_until_done(planning_done.is_set,
                                     lambda: stop.is_set() or os.getppid() != parent_pid)
    finally:
        sender.close()
    sys.exit(code)

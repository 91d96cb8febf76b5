"""SMTP under temporary failures: the same send to a local SMTP sink without faults and with 451
answered to a tenth of the RCPTs, in one run; both rates and their ratio (target >= 0.8).

    .venv/bin/python bench/smtp_faults.py [--customers 20000] [--workers 2] [--fault-percent 10]
                                          [--fault-times 1] [--retry-first 2] [--retry-max 8]
                                          [--max-attempts 5] [--dir /tmp]

1. Setup (a child process, not measured): a SQLite database of N demo customers, as bench/send.py
   makes it (its ``setup`` is reused).
2. Twice, on a fresh copy of it, in a child process that does nothing else: plan + deliver with
   the local engine (``--workers`` processes, one persistent connection each) to an asyncio SMTP
   sink in another process: first without faults, then with faults. The faulty sink answers
   ``451 4.7.1 greylisted`` to the RCPT of every recipient whose address's CRC-32 falls in the
   chosen ``--fault-percent`` (the same recipients in every run), ``--fault-times`` times each
   (1: as greylisting does; a large number: always), then accepts it.
3. Two rates per send, both counting the due recipients:
   - first pass: due recipients / seconds from the start of the send (plan included) until the
     last recipient's first try was recorded (the latest ledger row still at attempt 1): what a
     deferral costs the connection, the figure the 0.8 target is about;
   - until done: due recipients / seconds until the run is complete, every deferred recipient
     delivered or failed with the relay's answer: bounded by the back-off, not by the relay.
   The back-off is short here (``--retry-first`` 2 s doubling up to ``--retry-max`` 8 s, where a
   real send waits 1, 2, 4, 8 minutes up to 10), so the retries land inside the run.
4. Prints both sends' figures, the ratios, and how many deferred recipients were delivered at a
   later try and how many were reported failed (the two add up to those deferred); the last line
   is every figure as JSON.

Not a test: nothing here asserts a target, the figures are for the reader.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from render_path import EDITION  # noqa: E402  (bench/send.py's modules, beside this one)
from send_services import free_port, serve_smtp, wait_for_port  # noqa: E402
from send_setup import setup  # noqa: E402

GREYLISTED = b"451 4.7.1 greylisted, try again later\r\n"


def faulty(address: str, percent: float) -> bool:
    """Whether the sink defers this recipient: deterministic, the same in every run."""
    return zlib.crc32(address.lower().encode()) % 10_000 < percent * 100


# The sink ---------------------------------------------------------------------------------------

async def _sink(port: int, stats_path: Path, percent: float, times: int) -> None:
    deferred: dict[str, int] = {}  # address -> 451 answers given
    accepted: dict[str, int] = {}  # address -> messages taken
    sessions = [0]

    def save() -> None:
        stats_path.write_text(json.dumps(dict(
            accepted=sum(accepted.values()), duplicates=sum(n - 1 for n in accepted.values() if n > 1),
            deferred_recipients=len(deferred), answered_451=sum(deferred.values()),
            deferred_then_accepted=sum(1 for a in deferred if a in accepted), sessions=sessions[0])))

    def answer(address: str) -> bytes:
        if percent and faulty(address, percent) and deferred.get(address, 0) < times:
            deferred[address] = deferred.get(address, 0) + 1
            return GREYLISTED
        return b"250 ok\r\n"

    def take(address: str | None) -> None:
        accepted[address] = accepted.get(address, 0) + 1

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sessions[0] += 1
        await serve_smtp(reader, writer, rcpt=answer, taken=take)
        save()

    server = await asyncio.start_server(session, "127.0.0.1", port, limit=1 << 20)
    async with server:
        await server.serve_forever()


def sink_main(port: int, stats_path: str, percent: float, times: int) -> None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(_sink(port, Path(stats_path), percent, times))


# One measured send ------------------------------------------------------------------------------

def measure(db_path: Path, target: str, options) -> dict:
    """Plan and deliver with the local engine, in this (otherwise idle) process."""
    from sqlalchemy import func, select

    from preferences.database import make_engine
    from preferences.utc import utcnow
    from service.content.check import load_content
    from service.sending.local_engine import run_local
    from service.sending.plan import plan_run
    from service.sending.spec import SendSpec
    from service.sending.tables import delivery
    from service.settings import Settings

    started_at, started = utcnow(), time.perf_counter()
    url = f"sqlite:///{db_path}"
    settings = Settings(database_url=url, content_dir=ROOT / "content")
    content = load_content(settings.content_dir)
    engine = make_engine(url)
    spec = SendSpec(settings, "weekly", EDITION, target, batch_size=options.batch_size, workers=options.workers,
                    retry_first_s=options.retry_first, retry_max_s=options.retry_max,
                    max_attempts=options.max_attempts)
    result = run_local(engine, spec, lambda tick: plan_run(engine, content, spec, on_batch=lambda _c: tick()),
                       workers=options.workers)
    seconds = time.perf_counter() - started
    c = delivery.c
    with engine.connect() as conn:
        first_pass_end = conn.execute(select(func.max(c.updated_at)).where(
            c.attempts == 1, c.state.in_(("sent", "failed")))).scalar()
        later = dict(conn.execute(select(c.state, func.count()).where(c.attempts > 1).group_by(c.state)).all())
        reasons = dict(conn.execute(select(c.reason, func.count()).where(c.state == "failed")
                                    .group_by(c.reason)).all())
    engine.dispose()
    counts = result.counts
    due = counts["sent"] + counts["failed"] + counts["pending"] + counts["claimed"]
    first = (first_pass_end - started_at).total_seconds()
    return dict(complete=result.complete, due=due, sent=counts["sent"], failed=counts["failed"],
                unfinished=counts["pending"] + counts["claimed"], failed_reasons=reasons,
                seconds=round(seconds, 2), first_pass_seconds=round(first, 2),
                first_pass_recipients_per_s=round(due / first), until_done_recipients_per_s=round(due / seconds),
                sent_after_a_retry=later.get("sent", 0), failed_after_retries=later.get("failed", 0))


# Orchestration ----------------------------------------------------------------------------------

def child(*args: str) -> dict | None:
    """Run this script with ``args`` in a fresh interpreter; its last output line is JSON."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{' '.join(args[:2])} failed with exit code {done.returncode}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def one_send(work: Path, name: str, percent: float, options) -> dict:
    db = work / f"{name}.db"
    shutil.copy(work / "seed.db", db)
    port, stats = free_port(), work / f"{name}.sink.json"
    sink = multiprocessing.get_context("spawn").Process(
        target=sink_main, args=(port, str(stats), percent, options.fault_times), daemon=True)
    sink.start()
    try:
        wait_for_port(port)
        flags = ["--workers", str(options.workers), "--batch-size", str(options.batch_size),
                 "--retry-first", str(options.retry_first), "--retry-max", str(options.retry_max),
                 "--max-attempts", str(options.max_attempts)]
        result = child("--measure", str(db), f"smtp://127.0.0.1:{port}?timeout=30", *flags)
        time.sleep(0.3)  # the sink saves its figures as each session ends
        result["sink"] = json.loads(stats.read_text()) if stats.exists() else None
    finally:
        sink.terminate()
        sink.join(5)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--fault-percent", type=float, default=10.0, help="share of the RCPTs answered 451")
    parser.add_argument("--fault-times", type=int, default=1, help="451 answers per chosen recipient, then 250")
    parser.add_argument("--retry-first", type=float, default=2.0, help="first per-recipient back-off, seconds")
    parser.add_argument("--retry-max", type=float, default=8.0, help="longest per-recipient back-off, seconds")
    parser.add_argument("--max-attempts", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where the databases go (default: a temp dir)")
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, metavar=("DB", "TARGET"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.setup:
        setup(f"sqlite:///{options.setup}", options.customers, EDITION)
        return
    if options.measure:
        print(json.dumps(measure(Path(options.measure[0]), options.measure[1], options)))
        return

    base = Path(options.dir or tempfile.mkdtemp(prefix="bench-smtp-faults-"))
    work = base / f"bench-smtp-faults-{os.getpid()}"
    work.mkdir(parents=True)
    figures = dict(customers=options.customers, workers=options.workers, cpus=os.cpu_count(),
                   fault_percent=options.fault_percent, fault_times=options.fault_times,
                   retry_first_s=options.retry_first, retry_max_s=options.retry_max,
                   max_attempts=options.max_attempts)
    try:
        began = time.perf_counter()
        print(f"setting up {options.customers:,} demo customers in SQLite ...", flush=True)
        child("--setup", str(work / "seed.db"), "--customers", str(options.customers))
        print(f"  {time.perf_counter() - began:.1f} s (not measured)", flush=True)
        for name, percent in (("clean", 0.0), ("faulty", options.fault_percent)):
            result = figures[name] = one_send(work, name, percent, options)
            sink = result["sink"] or {}
            print(f"{name:7} {result['due']:,} due: first pass {result['first_pass_seconds']:.1f} s = "
                  f"{result['first_pass_recipients_per_s']:,}/s; until done {result['seconds']:.1f} s = "
                  f"{result['until_done_recipients_per_s']:,}/s; sent {result['sent']:,}, failed {result['failed']:,}, "
                  f"unfinished {result['unfinished']:,}; sink: {sink.get('accepted')} taken, "
                  f"{sink.get('answered_451')} answered 451 to {sink.get('deferred_recipients')} recipients, "
                  f"{sink.get('duplicates')} duplicates, {sink.get('sessions')} connections", flush=True)
    finally:
        shutil.rmtree(work if options.dir else base, ignore_errors=True)
    clean, bad = figures["clean"], figures["faulty"]
    figures["first_pass_ratio"] = round(bad["first_pass_recipients_per_s"] / clean["first_pass_recipients_per_s"], 3)
    figures["until_done_ratio"] = round(bad["until_done_recipients_per_s"] / clean["until_done_recipients_per_s"], 3)
    deferred = (bad["sink"] or {}).get("deferred_recipients", 0)
    figures.update(deferred_recipients=deferred, deferred_delivered=bad["sent_after_a_retry"],
                   deferred_reported=bad["failed_after_retries"],
                   deferred_accounted=bad["sent_after_a_retry"] + bad["failed_after_retries"] == deferred)
    print(f"ratio faulty / clean: first pass {figures['first_pass_ratio']} (target >= 0.8), until done "
          f"{figures['until_done_ratio']}; of {deferred:,} deferred recipients {bad['sent_after_a_retry']:,} "
          f"delivered at a later try, {bad['failed_after_retries']:,} reported failed "
          f"({bad['failed_reasons'] or 'no failure'})", flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

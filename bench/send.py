"""Send benchmark: a whole `newsletter send` of the demo content's weekly edition, end to end.

    .venv/bin/python bench/send.py [--customers 100000] [--workers 2] [--targets maildir,smtp,spool]
                                   [--dir /tmp] [--sink fast|aiosmtpd] [--fsync batch]

1. Setup (in a child process, not measured): a SQLite database with N demo customers
   (service/cli/demo_customers.py's mix of segments, locales and names, dated for the edition),
   inserted with Core.
2. Per target, on a fresh copy of that database, in a child process that does nothing else:
   plan + deliver with the local engine (N worker processes), as `newsletter send` does.
   - maildir: into DIR/outbox (tmp/ then new/);
   - smtp: to an SMTP sink on 127.0.0.1 in another process (a minimal asyncio sink by
     default, or aiosmtpd), over one persistent connection per worker;
   - spool: into DIR/spool, one mbox file per batch, which a pick-up process (another process,
     as a relay's pick-up job would be) counts and removes as soon as each batch is published:
     at 1,000,000 customers the messages would fill 55 GB, the spool holds a few batches.
3. Prints per target: recipients sent, seconds end to end (plan, worker start, delivery,
   ledger), recipients/s, and the peak RSS of the parent and of the largest worker
   (getrusage: self and children). The last line is every figure as JSON.

Not a test: nothing here asserts a target, the figures are for the reader.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EDITION = date(2026, 11, 23)


# Setup -----------------------------------------------------------------------------------------

def setup(db_path: Path, customers: int) -> None:
    """Create the database and insert the demo customers with Core (in chunks)."""
    from sqlalchemy import insert

    from preferences.csv_import import read_csv
    from preferences.database import make_engine, upgrade
    from preferences.models import customer_table, new_public_id, preference_table
    from service.content.check import load_content
    from service.cli.demo_customers import write_demo_csv

    url = f"sqlite:///{db_path}"
    upgrade(url)
    content = load_content(ROOT / "content")
    engine = make_engine(url)
    now = datetime.now(timezone.utc)
    chunk, number = 20_000, 0
    with tempfile.TemporaryDirectory() as scratch:
        for start in range(0, customers, chunk):
            size = min(chunk, customers - start)
            csv_path = Path(scratch) / "customers.csv"
            write_demo_csv(csv_path, size, content, seed=start + 1, today=EDITION)
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


# One measured send -----------------------------------------------------------------------------

def measure(db_path: Path, target: str, workers: int, batch_size: int) -> dict:
    """Plan and deliver with the local engine, in this (otherwise idle) process."""
    from preferences.database import make_engine
    from service.content.check import load_content
    from service.sending.local_engine import run_local
    from service.sending.plan import plan_run
    from service.sending.spec import SendSpec
    from service.settings import Settings

    started = time.perf_counter()
    url = f"sqlite:///{db_path}"
    settings = Settings(database_url=url, content_dir=ROOT / "content")
    content = load_content(settings.content_dir)
    engine = make_engine(url)
    spec = SendSpec(settings, "weekly", EDITION, target, batch_size=batch_size, workers=workers)
    planned = {}

    def plan(tick):
        began = time.perf_counter()
        counts = plan_run(engine, content, spec, on_batch=lambda _c: tick())
        planned.update(due=counts.due, skipped=sum(counts.skipped.values()),
                       plan_seconds=round(time.perf_counter() - began, 2))
        return counts

    result = run_local(engine, spec, plan, workers=workers)
    seconds = time.perf_counter() - started
    engine.dispose()
    sent = result.counts["sent"]
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return dict(target=target.split(":", 1)[0], sent=sent, failed=result.counts["failed"], complete=result.complete,
                seconds=round(seconds, 2), recipients_per_s=round(sent / seconds), workers=workers,
                peak_rss_parent_mb=round(own, 1), peak_rss_worker_mb=round(children, 1), **planned)


# SMTP sinks ------------------------------------------------------------------------------------

async def _fast_sink(port: int, counter_path: Path) -> None:
    count = 0

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        writer.write(b"220 sink ESMTP\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    await reader.readuntil(b"\r\n.\r\n")
                    count += 1
                    writer.write(b"250 2.0.0 queued\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:  # MAIL, RCPT, RSET, NOOP
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
        counter_path.write_text(str(count))

    server = await asyncio.start_server(session, "127.0.0.1", port, limit=1 << 20)
    async with server:
        await server.serve_forever()


def sink_main(kind: str, port: int, counter_path: str) -> None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if kind == "fast":
        asyncio.run(_fast_sink(port, Path(counter_path)))
        return
    from aiosmtpd.controller import Controller

    class Counting:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Counting.count += 1
            Path(counter_path).write_text(str(Counting.count))
            return "250 2.0.0 queued"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    while True:
        time.sleep(3600)


def pickup_main(folder: str, counter_path: str) -> None:
    """Count and remove every published batch (its .ids is written after its .mbox)."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    count = 0
    while True:
        last_round = bool(stop)
        with os.scandir(folder) as entries:
            names = [e.name[:-4] for e in entries if e.name.endswith(".ids")]
        for name in names:
            with open(os.path.join(folder, name + ".ids"), "rb") as handle:
                count += handle.read().count(b"\n")
            os.unlink(os.path.join(folder, name + ".mbox"))
            os.unlink(os.path.join(folder, name + ".ids"))
        Path(counter_path).write_text(str(count))
        if last_round:
            return
        if not names:
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the sink did not start on port {port}")


# Orchestration ---------------------------------------------------------------------------------

def child(*args: str) -> dict | None:
    """Run this script with ``args`` in a fresh interpreter; its last output line is JSON."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{' '.join(args[:2])} failed with exit code {done.returncode}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--targets", default="maildir,smtp")
    parser.add_argument("--dir", default=None, help="where the database and the Maildir go (default: a temp dir)")
    parser.add_argument("--sink", choices=("fast", "aiosmtpd"), default="fast")
    parser.add_argument("--fsync", choices=("none", "batch", "message"), default="batch")
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, metavar=("DB", "TARGET"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.setup:
        setup(Path(options.setup), options.customers)
        return
    if options.measure:
        print(json.dumps(measure(Path(options.measure[0]), options.measure[1], options.workers, options.batch_size)))
        return

    base = Path(options.dir or tempfile.mkdtemp(prefix="bench-send-"))
    work = base / f"bench-send-{os.getpid()}"
    work.mkdir(parents=True)
    figures = {"customers": options.customers, "workers": options.workers, "cpus": os.cpu_count(),
               "dir": str(base), "fsync": options.fsync}
    try:
        began = time.perf_counter()
        print(f"setting up {options.customers:,} demo customers in SQLite ...", flush=True)
        child("--setup", str(work / "seed.db"), "--customers", str(options.customers))
        print(f"  {time.perf_counter() - began:.1f} s (not measured)", flush=True)
        for name in options.targets.split(","):
            db = work / f"{name}.db"
            shutil.copy(work / "seed.db", db)
            sink = None
            if name == "maildir":
                target = f"maildir:{work / 'outbox'}?fsync={options.fsync}"
            elif name == "spool":
                (work / "spool").mkdir()
                counter = work / "pickup.count"
                sink = multiprocessing.get_context("spawn").Process(
                    target=pickup_main, args=(str(work / "spool"), str(counter)), daemon=True)
                sink.start()
                target = f"spool:{work / 'spool'}?fsync={'none' if options.fsync == 'none' else 'batch'}"
            elif name == "smtp":
                port, counter = free_port(), work / "sink.count"
                sink = multiprocessing.get_context("spawn").Process(
                    target=sink_main, args=(options.sink, port, str(counter)), daemon=True)
                sink.start()
                wait_for_port(port)
                target = f"smtp://127.0.0.1:{port}?timeout=30"
            else:
                raise SystemExit(f"unknown target {name!r}")
            result = child("--measure", str(db), target, "--workers", str(options.workers),
                           "--batch-size", str(options.batch_size))
            if name == "maildir":
                result["files_in_new"] = len(os.listdir(work / "outbox" / "new"))
            if name == "spool":
                sink.terminate()
                sink.join(30)
                result["pickup_received"] = int(counter.read_text()) if counter.exists() else None
            elif sink is not None:
                time.sleep(0.3)
                result["sink_received"] = int(counter.read_text()) if counter.exists() else None
                result["sink"] = options.sink
                sink.terminate()
                sink.join(5)
            figures[name] = result
            print(f"{name:8} {result['sent']:>9,} sent in {result['seconds']:6.1f} s = "
                  f"{result['recipients_per_s']:>6,} recipients/s end to end (plan {result['plan_seconds']} s); "
                  f"peak RSS parent {result['peak_rss_parent_mb']} MB, largest worker "
                  f"{result['peak_rss_worker_mb']} MB", flush=True)
    finally:
        shutil.rmtree(work if options.dir else base, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

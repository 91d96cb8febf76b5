"""Send benchmark: a whole `newsletter send` of the demo content's weekly edition, end to end,
against the single-core render rate measured in the same run.

    .venv/bin/python bench/send.py [--customers 100000] [--workers 2] [--targets maildir,smtp,spool]
                                   [--database sqlite|postgres] [--engine local,dramatiq]
                                   [--dir /tmp] [--sink fast|aiosmtpd] [--fsync batch]

1. Setup (in a child process, not measured): a database with N demo customers
   (service/cli/demo_customers.py's mix of segments, locales and names, dated for the edition),
   inserted with Core: a SQLite file, or a PostgreSQL database of the run's own on
   127.0.0.1:5432 (`--postgres-admin`, trust auth; every database the run makes is dropped at
   the end, no other is touched).
2. The render rate (a child process pinned to one core, nothing else running): bench/render.py's
   fast path (variant lookup, then substitution + MIME) over the first 20,000 active customers
   of that database, best of 3, variants compiled before the clock runs.
3. Per engine and target, on a fresh copy of that database, in a child process that does
   nothing else: plan + deliver as `newsletter send` does, with the local engine (N worker
   processes) or the dramatiq engine (N chains; N `dramatiq service.sending.dramatiq_engine
   --processes 1 --threads 1` workers on Redis, `--redis`, started and ready before the clock
   runs, on a queue of the run's own).
   - maildir: into DIR/outbox (tmp/ then new/);
   - smtp: to an SMTP sink on 127.0.0.1 in another process (a minimal asyncio sink by
     default, or aiosmtpd), over one persistent connection per worker;
   - spool: into DIR/spool, one mbox file per batch, which a pick-up process (another process,
     as a relay's pick-up job would be) counts and removes as soon as each batch is published:
     at 1,000,000 customers the messages would fill 66 GB, the spool holds a few batches.
4. Prints the render rate, then per engine and target: recipients sent, seconds end to end (plan,
   worker start, delivery, ledger), recipients/s, its ratio to workers x the render rate (target
   >= 0.7), the peak RSS of the parent and of the largest worker (getrusage: self and
   children; /proc's VmHWM for dramatiq workers), and the CPU seconds of the sender and its
   workers: recipients a CPU second against the render's a CPU second is the ratio that holds
   while other processes share the cores (the PostgreSQL server's and Redis's CPU are not in
   it). The last line is every figure as JSON: the local engine's under `<target>`, the dramatiq
   engine's under `<target>_dramatiq` (e.g. `spool.recipients_per_s`, `render_recipients_per_s`,
   `spool.ratio_to_render`, `spool_dramatiq.cpu_ratio_to_render`).

Not a test: nothing here asserts a target, the figures are for the reader.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from render_path import EDITION, TEMPLATE
from send_services import (DramatiqWorkers, drop_queue, dramatiq_env, free_port, pickup_main, require_redis,
                           sink_main, wait_for_port)
from send_setup import POSTGRES_ADMIN, Databases, render_sample, setup

ROOT = Path(__file__).resolve().parent.parent
RENDER_SAMPLE = 20_000
TARGET_RATIO = 0.7


# The render rate -------------------------------------------------------------------------------

def measure_render(url: str, sample: int, repeat: int = 3) -> dict:
    """bench/render.py's fast path on one core over the database's customers."""
    from preferences.links import LinkSigner
    from service.assembly.edition import Edition
    from service.assembly.render import Renderer, date_header
    from service.content.check import load_content
    from service.settings import Settings

    from render_path import fast_path, pin_to_one_cpu

    cpu = pin_to_one_cpu()
    settings = Settings(database_url=url, content_dir=ROOT / "content")
    content = load_content(settings.content_dir)
    customers = render_sample(url, sample)
    edition = Edition(content, content.templates[TEMPLATE], EDITION, experiment_key=settings.experiment_key)
    renderer = Renderer(LinkSigner(settings.link_keys), settings.base_url, settings.unsubscribe_mailto)
    fast = fast_path(edition, renderer, customers, date_header(), repeat)
    return dict(render_recipients_per_s=round(fast["messages_per_s"]), render_sample=fast["messages"],
                render_recipients_per_cpu_s=round(fast["messages_per_cpu_s"]),
                render_us_per_recipient=round(fast["fast_us"], 2), render_lookup_us=round(fast["lookup_us"], 2),
                render_substitution_mime_us=round(fast["fast_us"] - fast["lookup_us"], 2),
                render_message_kb=round(fast["message_bytes"] / max(fast["messages"], 1) / 1024, 2),
                render_pinned_cpu=cpu)


# One measured send -----------------------------------------------------------------------------

def measure(url: str, target: str, engine_name: str, workers: int, batch_size: int) -> dict:
    """Plan and deliver with the local or dramatiq engine, in this (otherwise idle) process."""
    from preferences.database import make_engine
    from service.content.check import load_content
    from service.sending.plan import plan_run
    from service.sending.spec import SendSpec
    from service.settings import Settings

    started = time.perf_counter()
    settings = Settings(database_url=url, content_dir=ROOT / "content")
    content = load_content(settings.content_dir)
    engine = make_engine(url)
    # As `newsletter send` does: the workers trust the version checked here.
    spec = SendSpec(settings, TEMPLATE, EDITION, target, batch_size=batch_size, workers=workers,
                    checked_content=content.version)
    planned = {}

    def plan(tick):
        began = time.perf_counter()
        counts = plan_run(engine, content, spec, on_batch=lambda _c: tick())
        planned.update(due=counts.due, skipped=sum(counts.skipped.values()),
                       plan_seconds=round(time.perf_counter() - began, 2))
        return counts

    if engine_name == "dramatiq":
        from service.sending.dramatiq_engine import run_dramatiq  # reads the environment's settings

        result = run_dramatiq(engine, spec, plan, chains=workers, poll=0.1)
    else:
        from service.sending.local_engine import run_local

        result = run_local(engine, spec, plan, workers=workers)
    seconds = time.perf_counter() - started
    engine.dispose()
    sent = result.counts["sent"]
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return dict(target=target.split(":", 1)[0], engine=engine_name, sent=sent, failed=result.counts["failed"],
                complete=result.complete, seconds=round(seconds, 2), recipients_per_s=round(sent / seconds),
                workers=workers, peak_rss_parent_mb=round(own.ru_maxrss / 1024, 1),
                peak_rss_worker_mb=round(children.ru_maxrss / 1024, 1),
                cpu_s_parent=round(own.ru_utime + own.ru_stime, 2),
                cpu_s_workers=round(children.ru_utime + children.ru_stime, 2), **planned)


# Orchestration ---------------------------------------------------------------------------------

def child(*args: str, env: dict | None = None) -> dict | None:
    """Run this script with ``args`` in a fresh interpreter; its last output line is JSON."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{' '.join(args[:2])} failed with exit code {done.returncode}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def start_destination(name: str, work: Path, options):
    """The target URL for ``name`` and the process (sink, pick-up) that receives, if any."""
    spawn = multiprocessing.get_context("spawn")
    if name == "maildir":
        shutil.rmtree(work / "outbox", ignore_errors=True)
        return f"maildir:{work / 'outbox'}?fsync={options.fsync}", None, None
    if name == "spool":
        shutil.rmtree(work / "spool", ignore_errors=True)
        (work / "spool").mkdir()
        counter = work / "pickup.count"
        counter.unlink(missing_ok=True)
        sink = spawn.Process(target=pickup_main, args=(str(work / "spool"), str(counter)), daemon=True)
        sink.start()
        return f"spool:{work / 'spool'}?fsync={'none' if options.fsync == 'none' else 'batch'}", sink, counter
    if name == "smtp":
        port, counter = free_port(), work / "sink.count"
        counter.unlink(missing_ok=True)
        sink = spawn.Process(target=sink_main, args=(options.sink, port, str(counter)), daemon=True)
        sink.start()
        wait_for_port(port)
        return f"smtp://127.0.0.1:{port}?timeout=30", sink, counter
    raise SystemExit(f"unknown target {name!r} (maildir, smtp or spool)")


def run_one(databases: Databases, engine_name: str, name: str, work: Path, options) -> dict:
    label = name if engine_name == "local" else f"{name}_{engine_name}"
    url = databases.copy(label)
    target, sink, counter = start_destination(name, work, options)
    args = ("--measure", url, target, "--engine", engine_name, "--workers", str(options.workers),
            "--batch-size", str(options.batch_size))
    workers = None
    try:
        if engine_name == "dramatiq":
            queue = f"bench-send-{os.getpid()}-{label}"
            env = dramatiq_env(url, options.redis, queue)
            workers = DramatiqWorkers(options.workers, env, queue, work)
            workers.wait_ready()
            idle_cpu = workers.cpu_seconds()
            result = child(*args, env=env)
            result.update(workers.peak_rss_mb(), cpu_s_workers=round(workers.cpu_seconds() - idle_cpu, 2))
        else:
            result = child(*args)
    finally:
        if workers is not None:
            workers.stop()
            drop_queue(options.redis, queue)
    if name == "maildir":
        result["files_in_new"] = len(os.listdir(work / "outbox" / "new"))
        shutil.rmtree(work / "outbox", ignore_errors=True)
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
    databases.drop(label)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--targets", default="maildir,smtp")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--engine", default="local", help="local, dramatiq, or both: local,dramatiq")
    parser.add_argument("--postgres-admin", default=POSTGRES_ADMIN,
                        help="the server's maintenance database, where the run creates and drops its own")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9", help="the dramatiq engine's broker")
    parser.add_argument("--dir", default=None, help="where the SQLite files, the Maildir and the spool go "
                                                    "(default: a temp dir)")
    parser.add_argument("--sink", choices=("fast", "aiosmtpd"), default="fast")
    parser.add_argument("--fsync", choices=("none", "batch", "message"), default="batch")
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--render", help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, metavar=("URL", "TARGET"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    engines = options.engine.split(",")
    if any(e not in ("local", "dramatiq") for e in engines):
        parser.error(f"--engine: local, dramatiq or local,dramatiq, got {options.engine!r}")
    if options.setup:
        setup(options.setup, options.customers, EDITION)
        return
    if options.render:
        print(json.dumps(measure_render(options.render, RENDER_SAMPLE)))
        return
    if options.measure:
        print(json.dumps(measure(*options.measure, engines[0], options.workers, options.batch_size)))
        return

    if "dramatiq" in engines:
        require_redis(options.redis)  # before the setup's minutes, not after
    base = Path(options.dir or tempfile.mkdtemp(prefix="bench-send-"))
    work = base / f"bench-send-{os.getpid()}"
    work.mkdir(parents=True)
    databases = Databases(options.database, work, options.postgres_admin)
    figures = {"customers": options.customers, "workers": options.workers, "cpus": os.cpu_count(),
               "dir": str(base), "fsync": options.fsync, "database": options.database, "engines": engines}
    try:
        began = time.perf_counter()
        print(f"setting up {options.customers:,} demo customers in {options.database} ...", flush=True)
        seed = databases.create_seed()
        child("--setup", seed, "--customers", str(options.customers))
        print(f"  {time.perf_counter() - began:.1f} s (not measured)", flush=True)
        figures.update(child("--render", seed))
        render = figures["render_recipients_per_s"]
        capacity = options.workers * render
        figures["render_capacity_per_s"] = capacity
        print(f"render   {render:>9,} recipients/s on one core ({figures['render_us_per_recipient']} us a recipient: "
              f"lookup {figures['render_lookup_us']} us, substitution + MIME {figures['render_substitution_mime_us']} us; "
              f"{figures['render_sample']:,} customers, {figures['render_message_kb']} KB a message; "
              f"{figures['render_recipients_per_cpu_s']:,} a CPU second); "
              f"x {options.workers} workers = {capacity:,}/s", flush=True)
        for engine_name in engines:
            for name in options.targets.split(","):
                result = run_one(databases, engine_name, name, work, options)
                result["ratio_to_render"] = round(result["recipients_per_s"] / capacity, 3)
                cpu = result["cpu_s_parent"] + result["cpu_s_workers"]
                result["recipients_per_cpu_s"] = round(result["sent"] / cpu) if cpu else None
                result["cpu_ratio_to_render"] = (round(result["recipients_per_cpu_s"] / figures["render_recipients_per_cpu_s"], 3)
                                                 if cpu else None)
                figures[name if engine_name == "local" else f"{name}_{engine_name}"] = result
                met = "met" if result["ratio_to_render"] >= TARGET_RATIO else "MISSED"
                print(f"{name:8} {engine_name:8} {result['sent']:>9,} sent in {result['seconds']:6.1f} s = "
                      f"{result['recipients_per_s']:>6,} recipients/s end to end (plan {result['plan_seconds']} s) = "
                      f"{result['ratio_to_render']:.2f} x {options.workers} x render (target >= {TARGET_RATIO}: {met}); "
                      f"peak RSS parent {result['peak_rss_parent_mb']} MB, largest worker "
                      f"{result['peak_rss_worker_mb']} MB; CPU {cpu:.1f} s (parent {result['cpu_s_parent']}) = "
                      f"{result['recipients_per_cpu_s']:,} a CPU second = {result['cpu_ratio_to_render']:.2f} x render's",
                      flush=True)
    finally:
        databases.drop_all()
        shutil.rmtree(work if options.dir else base, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

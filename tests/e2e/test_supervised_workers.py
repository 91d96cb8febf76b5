"""The shipped supervisord config (deploy/supervisord/newsletter-workers.conf) run for real: two
single-process Dramatiq workers under supervisord, the worker process holding a claim SIGKILLed
mid-run. supervisord starts its instance again, the send completes with every customer sent once
by the ledger, in about the remaining work time plus one lease."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from preferences.database import make_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from send_fixtures import (EDITION, add_customers, empty_postgres, migrated_postgres_url, require_port,  # noqa: E402,F401
                           smtp_relay)
from test_dramatiq_dead_worker import claims_by_pid, worker_env  # noqa: E402
from test_send_crash_dramatiq import _drop_queue  # noqa: E402

from service.sending import ledger  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "supervisord" / "newsletter-workers.conf"
CUSTOMERS, RATE, BATCH, LEASE = 1_500, 250, 300, 4.0


def installed_config(here: Path, env: dict, numprocs: int) -> Path:
    """The shipped program section with this machine's paths, and a supervisord around it."""
    env_file = here / "worker.env"
    env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items() if k.isidentifier()))
    program = SHIPPED.read_text()
    program = program.replace("/opt/newsletter/.venv/bin/dramatiq", str(Path(sys.executable).with_name("dramatiq")))
    program = program.replace("/opt/newsletter", str(ROOT)).replace("/etc/newsletter/worker.env", str(env_file))
    program = program.replace("/var/log/newsletter", str(here))
    program = re.sub(r"(?m)^numprocs=\d+$", f"numprocs={numprocs}", program)
    program = re.sub(r"(?m)^user=.*\n", "", program)  # the test runs as whoever runs it
    program = program.replace("--threads 1'", f"--threads 1 --queues {env['NEWSLETTER_SEND_QUEUE']}'")
    (here / "newsletter-workers.conf").write_text(program)
    main = here / "supervisord.conf"
    main.write_text(f"""[supervisord]
nodaemon=true
logfile={here}/supervisord.log
pidfile={here}/supervisord.pid
[unix_http_server]
file={here}/s.sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://{here}/s.sock
[include]
files={here}/newsletter-workers.conf
""")
    return main


def running(config: Path) -> dict[str, int]:
    """Program instance -> pid of the instances supervisord reports RUNNING."""
    ctl = str(Path(sys.executable).with_name("supervisorctl"))
    out = subprocess.run([ctl, "-c", str(config), "status"], capture_output=True, text=True).stdout
    return {m[1]: int(m[2]) for m in re.finditer(r"(?m)^(\S+)\s+RUNNING\s+pid (\d+)", out)}


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return found


def test_supervisord_restarts_a_killed_worker_and_the_send_completes_once(migrated_postgres_url, smtp_relay):
    require_port("127.0.0.1", 6379, "Redis")
    pytest.importorskip("supervisor")
    relay, port = smtp_relay
    url = migrated_postgres_url
    engine = make_engine(url)
    empty_postgres(engine)
    add_customers(engine, CUSTOMERS)
    queue = f"newsletter-send-supervised-{os.getpid()}"
    env = worker_env(url, queue)
    here = Path(tempfile.mkdtemp(prefix="sv"))  # short: a unix socket path has at most 107 bytes
    config = installed_config(here, env, numprocs=2)
    supervisord = subprocess.Popen([str(Path(sys.executable).with_name("supervisord")), "-c", str(config)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sender = None
    try:
        before = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(running(config)), 20, "workers not up")
        wait_for(lambda: all(children(pid) for pid in before.values()), 20, "no worker processes")
        time.sleep(1.0)  # both consume before the first message
        sender = subprocess.Popen([sys.executable, "-c", "from service.cli.main import main; main()", "send",
                                   "weekly", "--date", EDITION.isoformat(), "--to",
                                   f"smtp://127.0.0.1:{port}?rate={RATE}", "--engine", "dramatiq", "--workers", "2",
                                   "--batch-size", str(BATCH), "--lease", str(LEASE)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # the worker process (Dramatiq's child) holding a claim, once a batch went out before it
        def holder() -> tuple[str, int] | None:  # (instance, worker pid) holding a claim now
            if len(relay.messages) < BATCH:
                return None
            held = claims_by_pid(engine)
            return next(((name, child) for name, pid in before.items() for child in children(pid)
                         if child in held), None)

        instance, victim = wait_for(holder, 30, "no claim seen")
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        left = CUSTOMERS - len(relay.messages)
        output = sender.communicate(timeout=120)[0].decode(errors="replace")
        after_kill = time.monotonic() - killed_at
        after = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(running(config)), 20, "not restarted")
    finally:
        if sender is not None and sender.poll() is None:
            sender.kill()
        supervisord.send_signal(signal.SIGTERM)
        supervisord.wait(timeout=60)
        _drop_queue(queue)
        shutil.rmtree(here, ignore_errors=True)
    assert sender.returncode == 0, output[-3000:]
    assert after[instance] != before[instance]  # the killed instance was started again
    key = ledger.EditionKey("weekly", EDITION)
    with engine.connect() as conn:
        counts = ledger.count_by_state(conn, key)
        rows = ledger.deliveries_of(conn, key)
    engine.dispose()
    assert counts["sent"] == CUSTOMERS and len(rows) == CUSTOMERS and counts["claimed"] == counts["pending"] == 0
    budget = left / RATE + LEASE + 12.0  # unfixed: 30 s of idling (the sender's top-up), then the rest
    print(f"\n{left} rows left at the kill; done {after_kill:.1f} s after it (budget {budget:.1f} s)")
    assert after_kill < budget, output[-3000:]

"""bench/send.py's other processes (imported, not run): the SMTP sinks, the spool's pick-up, and
the Dramatiq workers of a measured send, with their peak RSS read from /proc."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent


# SMTP sinks ------------------------------------------------------------------------------------

async def serve_smtp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                     rcpt: Callable[[str], bytes] = lambda address: b"250 ok\r\n",
                     taken: Callable[[str | None], None] = lambda address: None) -> None:
    """One session of a sink: every command answered 250, but RCPT (``rcpt`` answers it) and DATA
    (read whole, then ``taken`` with the last accepted recipient), until QUIT or the peer goes."""
    writer.write(b"220 sink ESMTP\r\n")
    recipient = None
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
            elif verb == b"RCPT":
                address = line.partition(b"<")[2].partition(b">")[0].decode()
                answer = rcpt(address)
                recipient = address if answer.startswith(b"250") else recipient
                writer.write(answer)
            elif verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                await reader.readuntil(b"\r\n.\r\n")
                taken(recipient)
                writer.write(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:  # MAIL, RSET, NOOP
                recipient = None if verb == b"RSET" else recipient
                writer.write(b"250 ok\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _fast_sink(port: int, counter_path: Path) -> None:
    count = [0]

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_smtp(reader, writer, taken=lambda _: count.__setitem__(0, count[0] + 1))
        counter_path.write_text(str(count[0]))

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


# Dramatiq workers ------------------------------------------------------------------------------

READY = "Worker process is ready for action."


def dramatiq_env(database_url: str, broker_url: str, queue: str) -> dict:
    """The environment of the sender and of its workers: this tree's code, the run's own queue."""
    return dict(os.environ, DATABASE_URL=database_url, NEWSLETTER_BROKER_URL=broker_url, NEWSLETTER_SEND_QUEUE=queue,
                NEWSLETTER_CONTENT_DIR=str(ROOT / "content"),
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


class DramatiqWorkers:
    """``count`` × ``dramatiq service.sending.dramatiq_engine --processes 1 --threads 1``, as
    deployed (one per core), on the run's own queue; started and ready before the clock runs."""

    def __init__(self, count: int, env: dict, queue: str, logs: Path):
        require_redis(env["NEWSLETTER_BROKER_URL"])
        command = str(Path(sys.executable).with_name("dramatiq"))
        self.logs = [logs / f"dramatiq-{n}.log" for n in range(count)]
        self.processes = []
        for log in self.logs:
            with open(log, "wb") as out:
                self.processes.append(subprocess.Popen(
                    [command, "service.sending.dramatiq_engine", "--processes", "1", "--threads", "1",
                     "--queues", queue], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True))

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            texts = [log.read_text(errors="replace") for log in self.logs]
            if all(READY in text for text in texts):
                return
            for process, text in zip(self.processes, texts):
                if process.poll() is not None:
                    raise SystemExit(f"a dramatiq worker exited with {process.returncode}:\n{text[-3000:]}")
            time.sleep(0.1)
        raise SystemExit(f"the dramatiq workers were not ready after {timeout:.0f} s (logs: {self.logs})")

    def peak_rss_mb(self) -> dict:
        """Peak RSS (VmHWM) of the dramatiq supervisors and of their worker processes, in MB."""
        supervisors, workers = [], []
        for process in self.processes:
            supervisors.append(_vm_hwm(process.pid))
            workers += [_vm_hwm(pid) for pid in _children(process.pid)]
        return dict(peak_rss_worker_mb=max(workers, default=0.0), peak_rss_dramatiq_main_mb=max(supervisors, default=0.0))

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) the worker processes have used so far."""
        return sum(_cpu_seconds(pid) for process in self.processes for pid in _children(process.pid))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _vm_hwm(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def require_redis(broker_url: str) -> None:
    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        raise SystemExit(f"no Redis at {broker_url} (--redis) for the dramatiq engine: {exc}") from None
    finally:
        client.close()


def drop_queue(broker_url: str, queue: str) -> None:
    """Remove what the run left in Redis under its queue's keys."""
    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        keys = list(client.scan_iter(f"dramatiq:{queue}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()

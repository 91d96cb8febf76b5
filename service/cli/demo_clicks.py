"""`newsletter results demo-clicks`: simulated readers of the demo send, through the real redirect.

The app is served on a free local port, as `newsletter serve` serves it, and simulated readers
follow the tracked links of the messages in the outbox over HTTP: some blocks draw more readers
than others, a few readers click twice, a few mail gateways open every link of a message at once
(machine clicks, kept out of the rates), and a few readers leave by the one-click unsubscribe of
their message. Which reader does what follows from the message (its file name), so a second run
over the same outbox repeats the same choices. Only for the demo: it sends real requests and
writes real clicks and unsubscribes.
"""

from __future__ import annotations

import http.client
import mailbox
import random
import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn

from service.results.machines import EARLY_S
from service.settings import Settings
from service.web.app import create_app

READERS = 0.22     # the share of messages whose reader clicks
SCANNED = 0.02     # the share of messages a mail gateway sweeps
LEAVERS = 0.006    # the share of messages whose reader unsubscribes with one click
_TRACKED = re.compile(r"https?://[^\s\"'<>]+/r/~?[A-Za-z0-9_.-]+/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}")


@dataclass
class Simulated:
    messages: int = 0
    clicks: int = 0
    scanner_clicks: int = 0
    unsubscribes: int = 0
    failed: int = 0


def simulate(settings: Settings, outbox: Path) -> Simulated:
    """Follow the outbox's links as the demo's readers would; the app records what they do."""
    folder = mailbox.Maildir(outbox, create=False)
    keys = sorted(folder.keys())
    _wait_until_delivered_long_enough(outbox)
    done = Simulated()
    with _served(settings) as port:
        for key in keys:
            luck = random.Random(zlib.crc32(key.encode()))
            role = luck.random()
            if role >= READERS + SCANNED + LEAVERS:
                continue
            message = message_from_bytes(folder.get_bytes(key), policy=policy.default)
            links = list(dict.fromkeys(_TRACKED.findall(message.get_body(("html",)).get_content())))
            done.messages += 1
            if role < LEAVERS:
                unsubscribe = str(message.get("List-Unsubscribe", "")).split(">")[0].lstrip("<")
                done.unsubscribes += _request(port, "POST", unsubscribe, done, f"Demo reader {key}",
                                              body=b"List-Unsubscribe=One-Click") == 200
            elif role < LEAVERS + SCANNED:
                for link in links:
                    done.scanner_clicks += _request(port, "GET", link, done, "Demo mail gateway") == 302
            elif links:
                weights = [1 + zlib.crc32(urlsplit(link).path.split("/")[2].encode()) % 7 for link in links]
                chosen = luck.choices(links, weights, k=2 if luck.random() < 0.25 else 1)
                for link in chosen:
                    done.clicks += _request(port, "GET", link, done, f"Demo reader {key}") == 302
    return done


def _wait_until_delivered_long_enough(outbox: Path) -> None:
    # A click sooner than EARLY_S after delivery is judged a link scanner's: readers come later.
    newest = max((p.stat().st_mtime for p in (outbox / "new").iterdir()), default=0.0)
    time.sleep(max(0.0, newest + EARLY_S + 0.5 - time.time()))


def _request(port: int, method: str, url: str, done: Simulated, agent: str, body: bytes | None = None) -> int:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"User-Agent": agent}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        status = connection.getresponse().status
    except OSError:
        status = 0
    finally:
        connection.close()
    if status not in (200, 302):
        done.failed += 1
    return status


class _served:
    """The app on a free local port in a thread; leaving stops it (the recorder writes the rest)."""

    def __init__(self, settings: Settings) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> int:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start")
            time.sleep(0.02)
        return self.port

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

"""Delivery into a spool: one mbox file (mboxrd, RFC 4155) per batch, for sends too large for a
file per message, and for whatever reads mbox files (Python's ``mailbox.mbox``, mutt, formail,
a relay's pick-up job).

``spool:DIR`` holds ``<batch>.mbox`` files and, beside each, ``<batch>.ids`` (the batch's
Message-IDs, one a line). A batch is written as an unnamed file (O_TMPFILE; elsewhere in
``tmp/``) and linked under its name only once complete, when the worker flushes before it records
the batch: a reader never sees half a batch, and a worker killed before that leaves nothing
behind (its rows are claimed again and written again). A worker killed after the link but before
the ledger update is what ``held`` is for: the rows are claimed again, their Message-IDs (one per
edition and customer) are found in the spool, and they are recorded as sent without a second
copy. ``.ids`` is written after the ``.mbox``; a batch whose ``.ids`` is missing (killed in
between) is indexed from the mbox itself.

Each message is stored byte for byte in its wire form (RFC 5322: CRLF line ends), exactly as it
would go over SMTP; the ``From `` separator lines and the blank line after each message end in
LF, as mbox readers (Python's mailbox) expect, which gives each message back unchanged: turning
a message's CRLF into LF in Python cost more than writing it. A body line that starts with
``From `` (after any ``>``) gets one more ``>`` (mboxrd): one search of the message, unless the envelope says it has
no such line (``from_lines``: the renderer knows it per variant and name, and a search over the
bytes cost as much as building the message).

Durability (``fsync``): ``batch`` (default) fsyncs each batch file and the folder before the
worker records the batch as sent; ``none`` leaves it to the kernel.
"""

from __future__ import annotations

import errno
import mailbox
import os
import re
import socket
import time
from datetime import datetime, timezone
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection

from service.delivery.base import SENT, Envelope, Result, folder_target
from service.delivery.maildir import unnamed_files_work

_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
SCHEME = "spool"


@dataclass(frozen=True)
class SpoolTarget:
    path: Path
    fsync: str = "batch"  # none | batch

    def __str__(self) -> str:
        return f"spool:{self.path}"

    def open(self, *, share: int = 1, pace: Callable[[], None] | None = None) -> "SpoolDelivery":
        return SpoolDelivery(self.path, fsync=self.fsync)


def parse(text: str) -> SpoolTarget:
    """``spool:PATH[?fsync=none|batch]``."""
    return SpoolTarget(*folder_target(text, SCHEME, ("none", "batch")))


class SpoolDelivery:
    record_every = 1000  # messages per batch file at most (a batch of the send is usually fewer)

    def __init__(self, root: Path, fsync: str = "batch", *, unnamed_files: bool | None = None):
        """``unnamed_files``: write through O_TMPFILE (True), through tmp/ (False), or whichever
        this system supports (None)."""
        self.root = Path(root)
        self.fsync = fsync
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        self._dir = str(self.root) + "/"
        self._dir_fd = os.open(self._dir, os.O_RDONLY | os.O_DIRECTORY)
        found = unnamed_files_work(self._dir)
        if unnamed_files and not found:
            raise OSError(errno.EOPNOTSUPP, f"no unnamed files (O_TMPFILE) in {self._dir}")
        self._unnamed = found if unnamed_files is None else unnamed_files
        self._host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40]
        self._count = 0
        self._fd: int | None = None  # the batch being written
        self._tmp_path: str | None = None
        self._ids: list[str] = []
        self._stamp = ""

    def deliver(self, envelope: Envelope) -> Result:
        if self._fd is None:
            self._open_batch()
        data = envelope.data
        if envelope.from_lines and b"From " in data:
            data = _FROM_LINE.sub(rb">\1", data)
        sender = envelope.sender or "MAILER-DAEMON"
        parts = [b"From " + sender.encode("ascii", "replace") + b" " + self._stamp + b"\n", data,
                 b"\n" if data.endswith(b"\n") else b"\r\n\n"]
        written, total = os.writev(self._fd, parts), sum(map(len, parts))
        if written < total:  # a short write (rare): the rest as one piece
            view = memoryview(b"".join(parts))[written:]
            while view:
                view = view[os.write(self._fd, view):]
        self._ids.append(envelope.message_id)
        return Result(SENT, f"{self._name}.mbox")

    def flush(self) -> None:
        """Publish the batch being written (its .mbox, then its .ids)."""
        if self._fd is None:
            return
        fd, name, ids = self._fd, self._name, self._ids
        try:
            if self.fsync != "none":
                os.fsync(fd)
            if self._unnamed:
                os.link(f"/proc/self/fd/{fd}", f"{name}.mbox", dst_dir_fd=self._dir_fd, follow_symlinks=True)
            else:
                os.rename(self._tmp_path, self._dir + f"{name}.mbox")
        finally:
            os.close(fd)
            self._fd = None
        _write_whole(self._dir, f"{name}.ids", "".join(f"{mid}\n" for mid in ids).encode())
        if self.fsync != "none":
            os.fsync(self._dir_fd)

    def held(self, message_ids: Collection[str]) -> set[str]:
        """Those of the Message-IDs some published batch holds: every batch's .ids is read (once
        per batch claimed again after a crash, so rarely), and only the wanted ids are kept, so
        memory stays flat however large the spool."""
        wanted, found = set(message_ids), set()
        if not wanted:
            return found
        with os.scandir(self._dir) as entries:
            names = [e.name[:-5] for e in entries if e.name.endswith(".mbox")]
        for name in names:
            found.update(wanted.intersection(self._ids_of(name)))
            if len(found) == len(wanted):
                break
        return found

    def has(self, message_id: str) -> bool:
        return bool(self.held([message_id]))

    def close(self) -> None:
        self.flush()
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1

    # -- internals -----------------------------------------------------------------------
    def _open_batch(self) -> None:
        self._count += 1
        self._name = f"{time.time_ns()}.P{os.getpid()}N{self._count}.{self._host}"
        self._ids = []
        self._stamp = datetime.now(timezone.utc).strftime("%a %b %d %H:%M:%S %Y").encode()
        if self._unnamed:
            self._fd = os.open(self._dir, os.O_TMPFILE | os.O_WRONLY, 0o640)
        else:
            self._tmp_path = self._dir + f"tmp/{self._name}.mbox"
            self._fd = os.open(self._tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)

    def _ids_of(self, name: str) -> list[str]:
        try:
            with open(self._dir + f"{name}.ids", "rb") as handle:
                return handle.read().decode().split()
        except FileNotFoundError:  # killed between the .mbox and the .ids: read the mbox
            box = mailbox.mbox(self._dir + f"{name}.mbox", create=False)
            try:
                return [str(message["Message-ID"]).strip() for message in box]
            finally:
                box.close()


def _write_whole(folder: str, name: str, data: bytes) -> None:
    """Write a small file under its name only once complete (tmp/, then rename)."""
    tmp = f"{folder}tmp/{name}.{os.getpid()}"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.rename(tmp, folder + name)

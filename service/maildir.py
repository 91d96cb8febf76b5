"""Delivery into a Maildir (tmp/, new/, cur/), as mail programs and Python's mailbox read it.

Each message is written to ``tmp/`` and renamed into ``new/``: a reader never sees half a file.
The file name is derived from the Message-ID (deterministic per edition and customer), so a
retry after a crash between the rename and the ledger update finds the file and writes nothing:
a customer never gets two files for one edition.

Durability (``fsync``): ``message`` fsyncs every file (slow); ``batch`` (default) syncs the
file system once before the worker records a batch as sent; ``none`` leaves it to the kernel
(a process crash loses nothing; a power cut may lose what the ledger calls sent).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import time
from pathlib import Path

from .deliver import SENT, Envelope, Result

_UNSAFE = re.compile(r"[^A-Za-z0-9._@=+-]")


class MaildirDelivery:
    record_every = 1000  # a whole batch: a repeated delivery finds its file

    def __init__(self, root: Path, fsync: str = "batch"):
        self.root = Path(root)
        self.fsync = fsync
        for sub in ("tmp", "new", "cur"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._tmp, self._new = str(self.root / "tmp") + "/", str(self.root / "new") + "/"
        self._cur = str(self.root / "cur") + "/"
        self._suffix = f".{os.getpid()}"
        self._unsynced = False
        _clean_tmp(self._tmp)

    @staticmethod
    def file_name(message_id: str) -> str:
        """The file name in new/ for a Message-ID: readable, safe, no ':' (Maildir's info mark)."""
        return _UNSAFE.sub("_", message_id.strip().strip("<>"))

    def deliver(self, envelope: Envelope) -> Result:
        name = self.file_name(envelope.message_id)
        final = self._new + name
        if os.path.exists(final):
            return Result(SENT, f"already in new/{name}")
        tmp = self._tmp + name + self._suffix
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            view = memoryview(envelope.data)
            while view:
                view = view[os.write(fd, view):]
            if self.fsync == "message":
                os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
        self._unsynced = True
        return Result(SENT, f"new/{name}")

    def has(self, message_id: str) -> bool:
        name = self.file_name(message_id)
        # A mail program may have moved it to cur/ already (read, or read and flagged).
        return any(os.path.exists(path) for path in (self._new + name, self._cur + name + ":2,",
                                                     self._cur + name + ":2,S"))

    def flush(self) -> None:
        if self.fsync == "none" or not self._unsynced:
            return
        if self.fsync == "message":
            _fsync_dir(self._new)
        else:
            _syncfs(self._new)
        self._unsynced = False

    def close(self) -> None:
        self.flush()


def _clean_tmp(tmp: str, older_than: float = 36 * 3600) -> None:
    """Remove what killed writers left in tmp/ (the Maildir convention: after 36 hours)."""
    limit = time.time() - older_than
    with os.scandir(tmp) as entries:
        for entry in entries:
            try:
                if entry.is_file() and entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
            except FileNotFoundError:
                pass  # another worker cleaned it


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_libc = None


def _syncfs(path: str) -> None:
    """Write back every dirty page of the file system holding ``path`` (Linux syncfs(2))."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        _libc = ctypes.CDLL(name, use_errno=True) if name else False
    if not _libc or not hasattr(_libc, "syncfs"):
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)

"""Delivery into a Maildir (tmp/, new/, cur/), as mail programs and Python's mailbox read it.

A reader never sees half a file: on Linux each message is written to an unnamed file of the
``new/`` folder (``O_TMPFILE``) and linked under its name once complete; elsewhere it is written
to ``tmp/`` and renamed into ``new/``, the classic way. The unnamed file spares the rename
between two folders, which the kernel serialises for the whole file system: with two workers it
cost more than rendering the message (README, "Measured reasons"). A writer killed
half-way leaves nothing behind (tmp/ would keep its file for 36 hours).

The file name is derived from the Message-ID (deterministic per edition and customer), and a
link never replaces an existing name: a retry after a crash between the link and the ledger
update finds the file and writes nothing, so a customer never gets two files for one edition.

Durability (``fsync``): ``message`` fsyncs every file (slow); ``batch`` (default) syncs the
file system once before the worker records a batch as sent; ``none`` leaves it to the kernel
(a process crash loses nothing; a power cut may lose what the ledger calls sent). With
``batch`` every byte is on the disk before the ledger says ``sent``, so the disk's write
bandwidth bounds a durable send, whatever the CPU does (README, "The scheduled send").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection

from service.delivery.base import SENT, Envelope, Result, folder_target

_UNSAFE = re.compile(r"[^A-Za-z0-9._@=+-]")
SCHEME = "maildir"
FSYNC = ("none", "batch", "message")


@dataclass(frozen=True)
class MaildirTarget:
    path: Path
    fsync: str = "batch"  # none | batch | message

    def __str__(self) -> str:
        return f"maildir:{self.path}"

    def open(self, *, share: int = 1, pace: Callable[[], None] | None = None) -> "MaildirDelivery":
        return MaildirDelivery(self.path, fsync=self.fsync)


def parse(text: str) -> MaildirTarget:
    """``maildir:PATH[?fsync=none|batch|message]``."""
    return MaildirTarget(*folder_target(text, SCHEME, FSYNC))


class MaildirDelivery:
    record_every = 1000  # a whole batch: a repeated delivery finds its file

    def __init__(self, root: Path, fsync: str = "batch", *, unnamed_files: bool | None = None):
        """``unnamed_files``: write through O_TMPFILE (True), through tmp/ (False), or whichever
        this system supports (None)."""
        self.root = Path(root)
        self.fsync = fsync
        for sub in ("tmp", "new", "cur"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._tmp, self._new = str(self.root / "tmp") + "/", str(self.root / "new") + "/"
        self._cur = str(self.root / "cur") + "/"
        self._suffix = f".{os.getpid()}"
        self._unsynced = False
        self._new_fd = os.open(self._new, os.O_RDONLY | os.O_DIRECTORY)
        found = unnamed_files_work(self._new)
        if unnamed_files and not found:
            raise OSError(errno.EOPNOTSUPP, f"no unnamed files (O_TMPFILE) in {self._new}")
        self._unnamed = found if unnamed_files is None else unnamed_files
        _clean_tmp(self._tmp)

    @staticmethod
    def file_name(message_id: str) -> str:
        """The file name in new/ for a Message-ID: readable, safe, no ':' (Maildir's info mark)."""
        return _UNSAFE.sub("_", message_id.strip().strip("<>"))

    def deliver(self, envelope: Envelope) -> Result:
        name = self.file_name(envelope.message_id)
        if self._unnamed:
            return self._deliver_unnamed(name, envelope.data)
        final = self._new + name
        if os.path.exists(final):
            return Result(SENT, f"already in new/{name}")
        tmp = self._tmp + name + self._suffix
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            self._write(fd, envelope.data)
        finally:
            os.close(fd)
        os.rename(tmp, final)
        self._unsynced = True
        return Result(SENT, f"new/{name}")

    def _deliver_unnamed(self, name: str, data: bytes) -> Result:
        fd = os.open(self._new, os.O_TMPFILE | os.O_WRONLY, 0o640)
        try:
            self._write(fd, data)
            os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=self._new_fd, follow_symlinks=True)
        except FileExistsError:
            return Result(SENT, f"already in new/{name}")
        finally:
            os.close(fd)
        self._unsynced = True
        return Result(SENT, f"new/{name}")

    def _write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if self.fsync == "message":
            os.fsync(fd)

    def held(self, message_ids: Collection[str]) -> set[str]:
        return {mid for mid in message_ids if self.has(mid)}

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
        if self._new_fd >= 0:
            os.close(self._new_fd)
            self._new_fd = -1


def unnamed_files_work(folder: str) -> bool:
    """Whether this system can write an unnamed file in ``folder`` and link it in (Linux 3.11+
    with /proc, on a file system that supports O_TMPFILE)."""
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        return False
    try:
        fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o640)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return False
        raise
    try:
        os.stat(f"/proc/self/fd/{fd}")
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


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

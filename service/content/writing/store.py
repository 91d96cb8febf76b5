"""Saving a block file: only over the version the editor saw, atomically, then committed.

The version is the file's ETag, the SHA-256 of its bytes, carried by the editor's form. A save
holds an exclusive lock on the folder ``blocks/`` (``flock``, so every worker process of the
service waits for the others), compares the file's current bytes with the ETag it was given and,
when they differ, writes nothing and raises ``Conflict`` with the version that is there now.
The file is written to a temporary file beside it, flushed to disk and moved over it
(``os.replace``): a reader sees the old file or the new one, never half of one, and a crash
leaves at most a stray ``.<name>.*.tmp`` (dot files are no blocks). Where the folder is a git
work tree the file is then committed as the editor; should git refuse, the old bytes are put
back and the save fails."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from service.content.writing import git
from service.content.writing.git import Author, GitError

_TEAM = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,99}")


def etag_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Conflict(Exception):
    """The file is not the version the editor started from: ``current`` is what is there now
    (None: it was removed, or for a new block: it exists meanwhile)."""

    def __init__(self, current: bytes | None):
        super().__init__("the block was changed by someone else meanwhile")
        self.current = current
        self.etag = None if current is None else etag_of(current)


class SaveError(RuntimeError):
    """The file could not be written or committed; nothing was changed."""


@dataclass(frozen=True)
class Saved:
    path: Path
    etag: str
    previous: str | None  # the ETag it replaced (None: a new file)
    commit: str | None  # None: no git work tree, or nothing changed


class BlockStore:
    """The block files of one content folder, as the editor reads and writes them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def path_of(self, team: str, name: str) -> Path:
        """``blocks/<team>/<name>.mjml``; ValueError for a name that could leave the folder."""
        if not _TEAM.fullmatch(team) or not _NAME.fullmatch(name) or ".." in name:
            raise ValueError(f"not a block name: {team}/{name}")
        return self.root / "blocks" / team / f"{name}.mjml"

    def read(self, team: str, name: str) -> bytes | None:
        try:
            return self.path_of(team, name).read_bytes()
        except FileNotFoundError:
            return None

    def save(self, team: str, name: str, data: bytes, expected: str | None, author: Author,
             message: str) -> Saved:
        """Write ``data`` if the file is still the version ``expected`` (None: it must not exist
        yet); Conflict otherwise, SaveError when writing or committing fails."""
        path = self.path_of(team, name)
        with self._locked():
            current = path.read_bytes() if path.exists() else None
            if (current is None) != (expected is None) or (current is not None and etag_of(current) != expected):
                raise Conflict(current)
            previous = None if current is None else etag_of(current)
            if current == data:
                return Saved(path, previous, previous, None)  # type: ignore[arg-type]
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                write_atomically(path, data)
            except OSError as exc:
                raise SaveError(f"cannot write {path.name}: {exc.strerror or exc}") from exc
            top = git.work_tree(path.parent)
            commit = None
            if top is not None:
                try:
                    commit = git.commit(top, path, author, message)
                except GitError as exc:
                    self._restore(path, current)
                    git.unstage(top, path)
                    raise SaveError(str(exc)) from exc
            return Saved(path, etag_of(data), previous, commit)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        folder = self.root / "blocks"
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @staticmethod
    def _restore(path: Path, old: bytes | None) -> None:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            write_atomically(path, old)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` all at once (same folder, so ``os.replace`` is a rename),
    keeping the old file's permissions (a new one gets the usual 0644)."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)

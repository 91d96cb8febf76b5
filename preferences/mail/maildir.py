"""A Maildir read the way the mail commands read one: each new message once, parsed, then marked.

Marks are Maildir flags, so nothing is deleted: a message done with moves from new/ to cur/ with
the flag S (seen); one that could not be acted on gets F (flagged) too, for a person to read.
One that is kept aside (a bounce mailbox's mail that is no report) moves into a Maildir++
sub-folder (``.Unparseable``), unseen and flagged, where a person's mail program shows it.
A message that does not even parse is handed over as None (and is not understood either).

Marking renames the message's file (the Maildir way: its name carries the flags), so reading a
mailbox of 100,000 messages reads each file once and writes none.
"""

from __future__ import annotations

import os
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Iterator

INFO = ":2,"  # what separates a message's unique name from its flags (the Maildir spec's info)


class NotAMaildir(ValueError):
    """The folder is not a Maildir (it needs new/, cur/ and tmp/)."""


class MailFolder:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not all((self.path / sub).is_dir() for sub in ("new", "cur", "tmp")):
            raise NotAMaildir(f"{path} is not a Maildir (it needs new/, cur/ and tmp/)")
        self._where: dict[str, Path] = {}

    def __str__(self) -> str:
        return f"maildir:{self.path}"

    def close(self) -> None:
        """Nothing to close: a Maildir is files (the IMAP folder's interface has it)."""

    def count_unread(self) -> int:
        """How many messages are not marked yet (a look at the file names only)."""
        return sum(1 for _ in self._unread_files())

    def unread_bytes(self) -> Iterator[tuple[str, bytes]]:
        """(key, the message as stored) of every message not marked yet, oldest name first."""
        for key, path in self._unread_files():
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # marked by a concurrent run meanwhile
                continue
            self._where[key] = path
            yield key, raw

    def unread(self) -> Iterator[tuple[str, EmailMessage | None]]:
        """(key, parsed message) of every message not marked yet, oldest name first."""
        for key, raw in self.unread_bytes():
            try:
                parsed = message_from_bytes(raw, policy=policy.default)
                parsed.get("Subject")  # headers parse lazily: a broken one fails here, not later
            except Exception:  # noqa: BLE001 (mail from anyone: whatever fails, it is not understood)
                parsed = None
            yield key, parsed

    def mark(self, key: str, *, understood: bool) -> None:
        """Done with ``key``: seen, and flagged for a person when it was not understood."""
        self._move(key, self.path / "cur", "S" if understood else "FS")

    def set_aside(self, key: str, folder: str) -> str:
        """Move ``key`` into the sub-folder ``folder`` (created when missing), unseen and
        flagged; where it went, for the report."""
        target = self.path / f".{folder}"
        for sub in ("new", "cur", "tmp"):
            (target / sub).mkdir(parents=True, exist_ok=True)
        (target / "maildirfolder").touch()  # Maildir++: marks the folder as a sub-folder
        self._move(key, target / "cur", "F")
        return f"maildir:{target}"

    def _unread_files(self) -> Iterator[tuple[str, Path]]:
        found = []
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or not entry.is_file():
                        continue
                    key, _, flags = entry.name.partition(INFO)
                    if sub == "cur" and "S" in flags:
                        continue
                    found.append((key, Path(entry.path)))
        yield from sorted(found)

    def _move(self, key: str, folder: Path, flags: str) -> None:
        source = self._where.pop(key)
        _, _, old = source.name.partition(INFO)
        merged = "".join(sorted(set(old) | set(flags)))
        os.replace(source, folder / f"{key}{INFO}{merged}")

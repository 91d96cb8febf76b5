"""A Maildir read the way the mail commands read one: each new message once, parsed, then marked.

Marks are Maildir flags, so nothing is deleted: a message done with moves from new/ to cur/ with
the flag S (seen); one that could not be acted on gets F (flagged) too, for a person to read.
A message that does not even parse is handed over as None (and is not understood either).
"""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Iterator


class NotAMaildir(ValueError):
    """The folder is not a Maildir (it needs new/, cur/ and tmp/)."""


class MailFolder:
    def __init__(self, path: Path) -> None:
        if not all((Path(path) / sub).is_dir() for sub in ("new", "cur", "tmp")):
            raise NotAMaildir(f"{path} is not a Maildir (it needs new/, cur/ and tmp/)")
        self._box = mailbox.Maildir(path, factory=None, create=False)

    def unread(self) -> Iterator[tuple[str, EmailMessage | None]]:
        """(key, parsed message) of every message not marked yet, oldest name first."""
        for key in sorted(self._box.keys()):
            found = self._box.get_message(key)
            if found.get_subdir() != "new" and "S" in found.get_flags():
                continue
            try:
                parsed = message_from_bytes(self._box.get_bytes(key), policy=policy.default)
                parsed.get("Subject")  # headers parse lazily: a broken one fails here, not later
            except Exception:  # noqa: BLE001 (mail from anyone: whatever fails, it is not understood)
                parsed = None
            yield key, parsed

    def mark(self, key: str, *, understood: bool) -> None:
        """Done with ``key``: seen, and flagged for a person when it was not understood."""
        message = self._box.get_message(key)
        message.set_subdir("cur")
        message.add_flag("S" if understood else "SF")
        self._box[key] = message

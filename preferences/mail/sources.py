"""Where the mail commands read from: ``maildir:PATH`` or an IMAP URL (``imap://``, ``imaps://``).

``open_source`` gives a folder with the one interface both have: ``count_unread``,
``unread_bytes`` (key, the message as stored), ``mark`` (seen, flagged when not understood),
``set_aside`` (into a folder of its own, for a person), ``close``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Protocol

from preferences.mail.imap import BadMailbox, ImapFolder, MailboxUnavailable
from preferences.mail.maildir import MailFolder, NotAMaildir

SCHEMES = "maildir:PATH, imap://USER@HOST[:PORT]/MAILBOX or imaps://USER@HOST[:PORT]/MAILBOX"


class BadSource(ValueError):
    """A --from the command cannot use (bad usage: the message says what it should look like)."""


class MailSource(Protocol):
    def count_unread(self) -> int: ...
    def unread_bytes(self) -> Iterator[tuple[str, bytes]]: ...
    def mark(self, key: str, *, understood: bool) -> None: ...
    def set_aside(self, key: str, folder: str) -> str: ...
    def close(self) -> None: ...


def open_source(source: str, imap_password: str | None = None) -> MailSource:
    """The folder ``source`` names. Raises BadSource for a source it cannot use, and
    MailboxUnavailable for an IMAP server that cannot be reached or refuses the login."""
    if source.startswith("maildir:"):
        try:
            return MailFolder(Path(source.removeprefix("maildir:")))
        except NotAMaildir as exc:
            raise BadSource(str(exc)) from None
    if source.startswith(("imap://", "imaps://")):
        try:
            return ImapFolder(source, imap_password)
        except BadMailbox as exc:
            raise BadSource(str(exc)) from None
    raise BadSource(f"--from {source!r}: expected {SCHEMES}")


__all__ = ["BadSource", "MailSource", "MailboxUnavailable", "open_source"]

"""A mailbox on an IMAP server, read as the mail commands read a Maildir: each unseen message
once, then marked (the same interface as ``preferences.mail.maildir.MailFolder``).

``imap://user@host[:port]/MAILBOX`` (STARTTLS when the server offers it) or
``imaps://user@host[:port]/MAILBOX`` (TLS from the start); the mailbox defaults to INBOX, the
password comes from the caller (an environment variable, never the URL). Messages are fetched
with ``BODY.PEEK[]`` (fetching alone marks nothing), then marked ``\\Seen`` once done with, and
``\\Flagged`` too when not understood; one kept aside is moved (``MOVE``, or ``COPY`` and an
expunge of that message alone) into a folder of its own, flagged and unseen.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from typing import Iterator
from urllib.parse import unquote, urlsplit

FETCH_AT_ONCE = 50  # messages per FETCH: few round trips, bounded memory
TIMEOUT = 60.0
_UID = re.compile(rb"UID (\d+)")
_NAME = re.compile(r"[A-Za-z0-9 _.\-/]{1,100}")


class BadMailbox(ValueError):
    """An IMAP URL the command cannot use (what is wrong, and how it should look)."""


class MailboxUnavailable(RuntimeError):
    """The IMAP server cannot be reached, refuses the login or the mailbox."""


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapFolder:
    def __init__(self, url: str, password: str | None, *, timeout: float = TIMEOUT,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise BadMailbox(f"{url!r} is no IMAP mailbox: imap://USER@HOST[:PORT]/MAILBOX or imaps://...")
        if parts.password is not None:
            raise BadMailbox("put no password in the URL (it would show in the process list and the "
                             "shell history): set NEWSLETTER_BOUNCE_IMAP_PASSWORD")
        if not password:
            raise BadMailbox(f"no password for {parts.username}@{parts.hostname}: set NEWSLETTER_BOUNCE_IMAP_PASSWORD")
        self.mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
        if not _NAME.fullmatch(self.mailbox):
            raise BadMailbox(f"mailbox name {self.mailbox!r}: letters, digits, space, _ . - / only")
        try:
            port = parts.port
        except ValueError as exc:
            raise BadMailbox(f"{url!r}: {exc}") from None
        self._label = f"{parts.scheme}://{parts.username}@{parts.hostname}" + (f":{port}" if port else "") \
            + f"/{self.mailbox}"
        context = ssl_context or ssl.create_default_context()
        try:
            if parts.scheme == "imaps":
                self._imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(parts.hostname, port or 993, ssl_context=context,
                                                              timeout=timeout)
            else:
                self._imap = imaplib.IMAP4(parts.hostname, port or 143, timeout=timeout)
                if "STARTTLS" in self._imap.capabilities:
                    self._imap.starttls(context)
            self._imap.login(unquote(parts.username), password)
            status, answer = self._imap.select(_quoted(self.mailbox))
            if status != "OK":
                raise MailboxUnavailable(f"{self}: no mailbox {self.mailbox!r} ({_said(answer)})")
        except (OSError, ssl.SSLError, imaplib.IMAP4.error, socket.timeout) as exc:
            raise MailboxUnavailable(f"{self}: {_reason(exc)}") from None
        self._uids: list[bytes] | None = None
        self._aside_ready: set[str] = set()

    def __str__(self) -> str:
        return self._label

    def close(self) -> None:
        try:
            self._imap.close()
            self._imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass

    def count_unread(self) -> int:
        return len(self._unseen())

    def unread_bytes(self) -> Iterator[tuple[str, bytes]]:
        """(UID, the message as stored) of every unseen message, oldest first."""
        uids = self._unseen()
        for start in range(0, len(uids), FETCH_AT_ONCE):
            chunk = uids[start:start + FETCH_AT_ONCE]
            status, data = self._command("uid", "FETCH", b",".join(chunk).decode(), "(UID BODY.PEEK[])")
            for index, item in enumerate(data):
                if not (isinstance(item, tuple) and len(item) == 2):
                    continue
                # The UID is in the response's head, or (some servers) after the literal.
                after = data[index + 1] if index + 1 < len(data) and isinstance(data[index + 1], bytes) else b""
                found = _UID.search(item[0]) or _UID.search(after)
                if found:
                    yield found.group(1).decode(), item[1]
        self._uids = None

    def mark(self, key: str, *, understood: bool) -> None:
        flags = r"(\Seen)" if understood else r"(\Seen \Flagged)"
        self._command("uid", "STORE", key, "+FLAGS.SILENT", flags)

    def set_aside(self, key: str, folder: str) -> str:
        """Move message ``key`` into ``folder`` (created when missing), flagged and unseen."""
        if folder not in self._aside_ready:
            status, answer = self._imap.create(_quoted(folder))
            if status != "OK" and b"exists" not in b" ".join(a for a in answer if isinstance(a, bytes)).lower():
                self._command("list", '""', _quoted(folder))  # fails with the server's reason if it is missing
            self._aside_ready.add(folder)
        self._command("uid", "STORE", key, "+FLAGS.SILENT", r"(\Flagged)")
        if "MOVE" in self._imap.capabilities:
            self._command("uid", "MOVE", key, _quoted(folder))
        else:
            self._command("uid", "COPY", key, _quoted(folder))
            self._command("uid", "STORE", key, "+FLAGS.SILENT", r"(\Deleted)")
            if "UIDPLUS" in self._imap.capabilities:  # expunge this message alone
                self._command("uid", "EXPUNGE", key)
        return f"{self._label.rsplit('/', 1)[0]}/{folder}"

    def _unseen(self) -> list[bytes]:
        if self._uids is None:
            status, data = self._command("uid", "SEARCH", "UNSEEN")
            self._uids = sorted((data[0] or b"").split(), key=int) if data else []
        return self._uids

    def _command(self, name: str, *args: str):
        try:
            status, data = getattr(self._imap, name)(*args)
        except (OSError, ssl.SSLError, imaplib.IMAP4.error, socket.timeout) as exc:
            raise MailboxUnavailable(f"{self}: {_reason(exc)}") from None
        if status != "OK":
            raise MailboxUnavailable(f"{self}: {name} {' '.join(args[:2])} refused ({_said(data)})")
        return status, data


def _said(answer) -> str:
    return " ".join(a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in answer or [])[:200]


def _reason(exc: Exception) -> str:
    if isinstance(exc, imaplib.IMAP4.error):
        return f"the server said: {str(exc).strip(chr(39)).lstrip('b').strip(chr(39))}"[:300]
    return f"{exc.__class__.__name__}: {exc}"[:300]

"""Delivery: handing one rendered message to its destination, and what came of it.

Destinations (``--to``): ``maildir:PATH`` (service/maildir.py), ``spool:PATH`` (one mbox file per
batch, service/spool.py) or ``smtp://[user:pass@]host:port``
with optional ``?starttls=1&verify=0&rate=700&timeout=30`` (``smtps://`` for implicit TLS;
service/smtp_relay.py). A deliverer answers every message with a Result:

- ``sent``: the destination has it (the relay accepted it, the file is in ``new/``);
- ``failed``: refused for good (5xx), recorded with the relay's answer;
- ``deferred``: not delivered for now (4xx, connection lost) after the deliverer's own retries:
  the row goes back to the ledger as pending and is tried again later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

SENT, FAILED, DEFERRED = "sent", "failed", "deferred"


class BadTarget(ValueError):
    """A --to value that names no destination this service can deliver to."""


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipient: str
    message_id: str
    data: bytes


@dataclass(frozen=True)
class Result:
    state: str  # SENT, FAILED or DEFERRED
    answer: str | None = None


class Deliverer(Protocol):
    # Messages a worker may deliver before it records them (the window that a crash can repeat).
    record_every: int

    def deliver(self, envelope: Envelope) -> Result: ...

    def held(self, message_ids: Collection[str]) -> set[str]:
        """Those of the Message-IDs the destination is known to hold already (asked after a
        crash, for the rows of a batch claimed again); none when it cannot tell (SMTP)."""

    def flush(self) -> None:
        """Make every message answered ``sent`` so far durable, before the ledger says so."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class MaildirTarget:
    path: Path
    fsync: str = "batch"  # none | batch | message

    def __str__(self) -> str:
        return f"maildir:{self.path}"


@dataclass(frozen=True)
class SpoolTarget:
    path: Path
    fsync: str = "batch"  # none | batch

    def __str__(self) -> str:
        return f"spool:{self.path}"


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    implicit_tls: bool = False
    verify: bool = True
    rate: float | None = None  # messages per second, for the whole relay (all workers together)
    timeout: float = 30.0

    def __str__(self) -> str:  # never the password
        user = f"{self.username}@" if self.username else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{self.host}:{self.port}"


Target = MaildirTarget | SpoolTarget | SmtpTarget


def parse_target(text: str) -> Target:
    """``maildir:PATH[?fsync=none|batch|message]``, ``spool:PATH[?fsync=none|batch]`` or
    ``smtp[s]://[user:pass@]host[:port][?...]``."""
    if text.startswith("spool:"):
        path, _, query = text[len("spool:"):].partition("?")
        if not path:
            raise BadTarget("spool: needs a folder, e.g. spool:./spool")
        fsync = _options(query).get("fsync", "batch")
        if fsync not in ("none", "batch"):
            raise BadTarget(f"fsync={fsync!r}: use none or batch")
        return SpoolTarget(Path(path), fsync)
    if text.startswith("maildir:"):
        path, _, query = text[len("maildir:"):].partition("?")
        if not path:
            raise BadTarget("maildir: needs a folder, e.g. maildir:./outbox")
        fsync = _options(query).get("fsync", "batch")
        if fsync not in ("none", "batch", "message"):
            raise BadTarget(f"fsync={fsync!r}: use none, batch or message")
        return MaildirTarget(Path(path), fsync)
    parts = urlsplit(text)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise BadTarget(f"{_hide_password(text)!r}: use maildir:PATH, spool:PATH or smtp://host:port")
    options = _options(parts.query)
    unknown = set(options) - {"starttls", "verify", "rate", "timeout"}
    if unknown:
        raise BadTarget(f"unknown SMTP option(s): {', '.join(sorted(unknown))}")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        rate = float(options["rate"]) if "rate" in options else None
        timeout = float(options.get("timeout", 30))
    except ValueError as exc:
        raise BadTarget(f"{_hide_password(text)!r}: {exc}") from exc
    if rate is not None and rate <= 0:
        raise BadTarget("rate must be a positive number of messages per second")
    return SmtpTarget(
        host=parts.hostname, port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=_flag(options.get("starttls", "0")), implicit_tls=parts.scheme == "smtps",
        verify=_flag(options.get("verify", "1")), rate=rate, timeout=timeout,
    )


def open_deliverer(target: Target, *, share: int = 1, pace: Callable[[], None] | None = None) -> Deliverer:
    """A deliverer for one worker; ``share`` workers deliver together (the rate is split), or
    ``pace`` waits for a slot of a rate limit that all workers share."""
    if isinstance(target, MaildirTarget):
        from .maildir import MaildirDelivery

        return MaildirDelivery(target.path, fsync=target.fsync)
    if isinstance(target, SpoolTarget):
        from .spool import SpoolDelivery

        return SpoolDelivery(target.path, fsync=target.fsync)
    from .smtp_relay import SmtpDelivery

    rate = target.rate / share if target.rate and pace is None else None
    return SmtpDelivery(target, rate=rate, pace=pace)


def _options(query: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes", "on")


def _hide_password(text: str) -> str:
    parts = urlsplit(text)
    if parts.password:
        return text.replace(f":{parts.password}@", ":***@", 1)
    return text

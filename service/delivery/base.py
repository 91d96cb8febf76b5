"""What every delivery target shares: the envelope handed over, the answer, and the two
protocols a target module implements (a ``Target`` parsed from its URL, which opens a
``Deliverer`` per worker). A deliverer answers every message with a Result:

- ``sent``: the destination has it (the relay accepted it, the file is in ``new/``);
- ``failed``: refused for good (5xx), recorded with the relay's answer;
- ``deferred``: not delivered for now (4xx, connection lost) after the deliverer's own retries:
  the row goes back to the ledger as pending and is tried again later. With ``recipient_only``
  the refusal was about this recipient alone (a 4xx to its RCPT TO or its DATA): the destination
  takes the others, so the sender goes on with them and retries this one after a back-off of its
  own; without it the destination itself is in trouble and the sender backs off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection, Protocol
from urllib.parse import parse_qs

SENT, FAILED, DEFERRED = "sent", "failed", "deferred"


class BadTarget(ValueError):
    """A --to value that names no destination this service can deliver to."""


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipient: str
    message_id: str
    data: bytes
    # False when the sender knows no line of data starts with "From " (an mbox spool then does
    # not search the whole message for one: as costly as building it).
    from_lines: bool = True


@dataclass(frozen=True)
class Result:
    state: str  # SENT, FAILED or DEFERRED
    answer: str | None = None
    recipient_only: bool = False  # DEFERRED for this recipient alone; the connection goes on


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


class Target(Protocol):
    """A destination as parsed from its ``--to`` URL (``str()`` shows it without secrets)."""

    def open(self, *, share: int = 1, pace: Callable[[], None] | None = None) -> Deliverer:
        """A deliverer for one worker; ``share`` workers deliver together (a rate is split), or
        ``pace`` waits for a slot of a rate limit that all workers share."""


def folder_target(text: str, scheme: str, fsync_modes: tuple[str, ...]) -> tuple[Path, str]:
    """The folder and fsync mode of ``scheme:PATH[?fsync=MODE]`` (the file-writing targets)."""
    path, _, query = text[len(scheme) + 1:].partition("?")
    if not path:
        raise BadTarget(f"{scheme}: needs a folder, e.g. {scheme}:./{'outbox' if scheme == 'maildir' else scheme}")
    fsync = url_options(query).get("fsync", "batch")
    if fsync not in fsync_modes:
        raise BadTarget(f"fsync={fsync!r}: use {', '.join(fsync_modes[:-1])} or {fsync_modes[-1]}")
    return Path(path), fsync


def url_options(query: str) -> dict[str, str]:
    """The options of a target URL's query (the last value of each name wins)."""
    return {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}


def flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes", "on")

"""The consent trail: how a change is recorded (values, client fingerprint, one event per field).

Consent events are append-only: this module and the store only ever INSERT them. There is no
function to update or delete one, on purpose.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterator, Sequence

from sqlalchemy import Connection, bindparam, insert
from sqlalchemy.orm import Session

from preferences.links import EditionRef
from preferences.models import Channel, consent_event_table
from preferences.prepared import Prepared
from preferences.utc import utcnow

# Field names recorded on consent events.
CREATED = "created"
FREQUENCY = "frequency"
PAUSED_UNTIL = "paused_until"
EXCLUDED_GROUPS = "excluded_groups"
LOCALE = "locale"
STATUS = "status"
CLICK_TRACKING = "click_tracking"
SUPPRESSED = "suppressed"  # the address was put on (new: the reason) or taken off (new: None) the suppression list
DELETED = "deleted"  # the customer was deleted (new: why), e.g. a signup nobody confirmed in time


def client_hash(ip: str | None, user_agent: str | None) -> str:
    """sha256 hex of the client's IP address and user agent, stored with page changes.

    Enough to match a disputed change against a known client, without keeping the IP itself.
    """
    return hashlib.sha256(f"{ip or ''}\n{user_agent or ''}".encode("utf-8", "replace")).hexdigest()


def encode_value(value: Any) -> str | None:
    """A value as JSON text for old_value/new_value (dates as ISO strings); None stays NULL."""
    if value is None:
        return None
    return json.dumps(value, default=_json_default, sort_keys=True, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot record {type(value).__name__} in a consent event")


@dataclass(frozen=True)
class Recorded:
    """A consent event as written, with its values decoded."""

    customer_id: int
    field: str
    old: Any
    new: Any
    channel: Channel
    client_hash: str | None
    at: datetime


# Who makes the changes being recorded, where the channel says no more than "api": the name of the
# operator's API key. Set around a request's work with ``acting_as``; never a secret.
_ACTOR: ContextVar[str | None] = ContextVar("consent_actor", default=None)


def current_actor() -> str | None:
    """The actor set by ``acting_as`` around the current work, if any."""
    return _ACTOR.get()


@contextmanager
def _set_during(var: ContextVar, value: Any) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def acting_as(actor: str | None) -> AbstractContextManager[None]:
    """Every consent event recorded inside names ``actor`` (e.g. the API key's name)."""
    return _set_during(_ACTOR, actor)


# Which edition's link a change came from (``links.edition_of`` of the request), set around the
# work with ``from_edition``: the results count churn and narrower choices per edition.
_EDITION: ContextVar[EditionRef | None] = ContextVar("consent_edition", default=None)


def current_edition() -> EditionRef | None:
    """The edition set by ``from_edition`` around the current work, if any."""
    return _EDITION.get()


def from_edition(edition: EditionRef | None) -> AbstractContextManager[None]:
    """Every consent event recorded inside names ``edition`` as where the change came from."""
    return _set_during(_EDITION, edition)


def record_many(
    conn: Connection,
    customer_id: int,
    changes: Sequence[tuple[str, Any, Any]],
    channel: Channel | str,
    client_hash: str | None = None,
    at: datetime | None = None,
) -> list[Recorded]:
    """Insert one consent event per (field, old, new) in one executemany; returns them in order."""
    if not changes:
        return []
    channel, at = Channel(channel), at or utcnow()
    edition = current_edition()
    template, day = (edition.template, edition.day) if edition else (None, None)
    rows = [{"customer_id": customer_id, "field": field, "old_value": encode_value(old),
             "new_value": encode_value(new), "channel": channel, "at": at, "client_hash": client_hash,
             "actor": _ACTOR.get(), "template": template, "edition_date": day}
            for field, old, new in changes]
    _INSERT.run_in(conn, rows)
    # The values as they were stored and will be read back (JSON: a date becomes its ISO text).
    return [Recorded(customer_id, row["field"], _decoded(row["old_value"]), _decoded(row["new_value"]),
                     channel, client_hash, at) for row in rows]


# inline(): no RETURNING of the new ids on PostgreSQL (nobody reads them here).
_INSERT = Prepared(insert(consent_event_table).inline().values(
    {name: bindparam(name) for name in ("customer_id", "field", "old_value", "new_value", "channel", "at",
                                        "client_hash", "actor", "template", "edition_date")}))


def _decoded(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def record(
    session: Session,
    customer_id: int,
    field: str,
    old: Any,
    new: Any,
    channel: Channel | str,
    client_hash: str | None = None,
    at: datetime | None = None,
) -> Recorded:
    """Write one consent event for a changed field in ``session``'s transaction."""
    return record_many(session.connection(), customer_id, [(field, old, new)], channel, client_hash, at)[0]

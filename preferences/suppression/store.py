"""The suppression list's writes and lookups, named by intent: ``suppress`` an address, ``lift``
a suppression, the ``suppressed_among`` of a batch of addresses, one address's ``suppression_of``;
``suppress_many`` suppresses a batch (a bounce run's) in a few statements; ``suppress_by_hand``
is an operator's (the command line's and the API's one way).

An address is suppressed by its lowercased form, once: a second reason for an address already
suppressed changes nothing (the first reason stands). Each change for an address that belongs to
a customer writes a consent event (field ``suppressed``: the reason, or None when lifted), in the
caller's transaction, so the list and the trail never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from preferences import consent
from preferences.customers import normalise_email
from preferences.errors import InvalidInput
from preferences.links import EditionRef
from preferences.models import Channel, consent_event_table, customer_table
from preferences.suppression.tables import DETAIL_LIMIT, MANUAL, REASONS, suppression
from preferences.utc import utcnow

_CHUNK = 500


@dataclass(frozen=True)
class Suppression:
    address: str
    reason: str
    detail: str | None
    actor: str | None
    created_at: datetime
    customer_id: int | None
    id: int

    @classmethod
    def of(cls, row) -> "Suppression":
        """A row of the ``suppression`` table."""
        return cls(row.address, row.reason, row.detail, row.actor, row.created_at, row.customer_id, row.id)


def address_key(email: str) -> str:
    """The form an address is suppressed by: as the customer table's unique index compares it."""
    return email.strip().lower()


def _customer_of(conn: Connection, address: str) -> int | None:
    return conn.execute(select(customer_table.c.id).where(func.lower(customer_table.c.email) == address)).scalar()


def suppress(conn: Connection, email: str, reason: str, channel: Channel | str, *, detail: str | None = None,
             actor: str | None = None, customer_id: int | None = None, at: datetime | None = None) -> bool:
    """Put ``email`` on the list for ``reason``; False (nothing written) if it is there already.

    ``customer_id`` is looked up by the address when not given; the consent event names
    ``channel`` (``bounce``, ``complaint``, ``api``, ``operator``)."""
    if reason not in REASONS:
        raise ValueError(f"unknown suppression reason {reason!r}: one of {', '.join(REASONS)}")
    address, at = address_key(email), at or utcnow()
    if suppression_of(conn, address) is not None:
        return False
    customer_id = customer_id if customer_id is not None else _customer_of(conn, address)
    try:
        with conn.begin_nested():  # a concurrent insert of the same address loses quietly
            conn.execute(suppression.insert().values(
                address=address, customer_id=customer_id, reason=reason,
                detail=None if detail is None else detail[:DETAIL_LIMIT], actor=actor, created_at=at))
    except IntegrityError:
        return False
    if customer_id is not None:
        with consent.acting_as(actor):
            consent.record_many(conn, customer_id, [(consent.SUPPRESSED, None, reason)], channel, at=at)
    return True


def check_by_hand(email: object, note: object) -> tuple[str, str]:
    """The address and the note of an operator's suppression, checked: InvalidInput naming
    ``email`` (not an address) and ``note`` (blank, too long, or more than one line)."""
    problems: dict[str, str] = {}
    address = ""
    try:
        address = normalise_email(email)
    except ValueError as error:
        problems["email"] = str(error)
    text = note.strip() if isinstance(note, str) else ""
    if not text:
        problems["note"] = "say why the address is suppressed"
    elif len(text) > DETAIL_LIMIT:
        problems["note"] = f"at most {DETAIL_LIMIT} characters"
    elif any(ord(c) < 32 or ord(c) == 127 for c in text):
        problems["note"] = "one line, without control characters"
    if problems:
        raise InvalidInput(problems)
    return address, text


def suppress_by_hand(conn: Connection, email: object, note: object, channel: Channel | str, *,
                     actor: str | None) -> tuple[Suppression, bool]:
    """An operator puts ``email`` on the list (reason ``manual``, ``note`` saying why, for whoever
    reads the list later): the address's suppression after it, and whether this call put it
    there (False: it was suppressed already, and its first reason stands). InvalidInput as
    ``check_by_hand`` says."""
    address, text = check_by_hand(email, note)
    added = suppress(conn, address, MANUAL, channel, detail=text, actor=actor)
    found = suppression_of(conn, address)
    assert found is not None  # put there now, or there already: in this transaction either way
    return found, added


@dataclass(frozen=True)
class Suppressing:
    """One address to put on the list, for ``suppress_many``: its customer is known, and the
    consent event names ``edition`` (the edition the bounce or complaint was about), if any."""

    email: str
    reason: str
    channel: Channel | str
    customer_id: int
    detail: str | None = None
    edition: EditionRef | None = None


def suppress_many(conn: Connection, items: Sequence[Suppressing], *, at: datetime | None = None) -> set[str]:
    """``suppress`` for a batch (a bounce run's): the addresses not on the list yet are put on
    it in one statement per 500, each with its consent event; the keys of those it added."""
    at, actor = at or utcnow(), consent.current_actor()
    first: dict[str, Suppressing] = {}
    for item in items:
        if item.reason not in REASONS:
            raise ValueError(f"unknown suppression reason {item.reason!r}: one of {', '.join(REASONS)}")
        first.setdefault(address_key(item.email), item)
    known = set(suppressed_among(conn, first))
    new = {address: item for address, item in first.items() if address not in known}
    if not new:
        return set()
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(suppression)
    added: set[str] = set()
    keys = list(new)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        # A concurrent writer that suppressed one of them first wins: RETURNING names ours.
        added.update(conn.execute(insert.on_conflict_do_nothing(index_elements=["address"])
                                  .returning(suppression.c.address),
                                  [dict(address=address, customer_id=new[address].customer_id, reason=new[address].reason,
                                        detail=None if new[address].detail is None else new[address].detail[:DETAIL_LIMIT],
                                        actor=actor, created_at=at) for address in chunk]).scalars())
    events = [{"customer_id": item.customer_id, "field": consent.SUPPRESSED, "old_value": None,
               "new_value": consent.encode_value(item.reason), "channel": Channel(item.channel), "at": at,
               "client_hash": None, "actor": actor, "template": item.edition.template if item.edition else None,
               "edition_date": item.edition.day if item.edition else None}
              for address, item in new.items() if address in added]
    if events:
        conn.execute(consent_event_table.insert(), events)
    return added


def lift(conn: Connection, email: str, channel: Channel | str, *, actor: str | None = None) -> Suppression | None:
    """Take ``email`` off the list (an operator's decision); the suppression it had, or None.

    Only the list changes: a customer who unsubscribed (a complaint unsubscribes too) stays
    unsubscribed, since only the customer can subscribe again."""
    found = suppression_of(conn, email)
    if found is None:
        return None
    # By its id: a concurrent lift (and a new suppression of the address since) is not this one's.
    if conn.execute(delete(suppression).where(suppression.c.id == found.id)).rowcount == 0:
        return None
    customer_id = found.customer_id if found.customer_id is not None else _customer_of(conn, found.address)
    if customer_id is not None:
        with consent.acting_as(actor):
            consent.record_many(conn, customer_id, [(consent.SUPPRESSED, found.reason, None)], channel)
    return found


def suppression_of(conn: Connection, email: str) -> Suppression | None:
    """The suppression of ``email``, or None."""
    row = conn.execute(select(suppression).where(suppression.c.address == address_key(email))).first()
    return None if row is None else Suppression.of(row)


def suppressed_among(conn: Connection, emails: Iterable[str]) -> dict[str, str]:
    """Of these addresses, the suppressed ones (as given) with their reasons: one query per 500."""
    by_key: dict[str, list[str]] = {}
    for email in emails:
        by_key.setdefault(address_key(email), []).append(email)
    keys, found = list(by_key), {}
    for start in range(0, len(keys), _CHUNK):
        rows = conn.execute(select(suppression.c.address, suppression.c.reason)
                            .where(suppression.c.address.in_(keys[start:start + _CHUNK])))
        for address, reason in rows:
            for email in by_key[address]:
                found[email] = reason
    return found


def listed(conn: Connection, *, reason: str | None = None, after: str = "", limit: int = 100) -> list[Suppression]:
    """The suppressions in address order after ``after`` (paging), at most ``limit``, of one
    ``reason`` if given."""
    statement = select(suppression).where(suppression.c.address > after)
    if reason is not None:
        statement = statement.where(suppression.c.reason == reason)
    rows = conn.execute(statement.order_by(suppression.c.address).limit(limit))
    return [Suppression.of(row) for row in rows]

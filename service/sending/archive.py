"""Sent is sent: the archive of what each edition's recipients got, read back byte for byte.

- ``archive_body`` holds each distinct compiled body once (a ``service.assembly.sent.SentBody``:
  subject, HTML and text with their personal-field slots), keyed by the SHA-256 of its canonical
  bytes and compressed with zlib (the standard library's; about a tenth of the size, and reading
  one back costs well under a millisecond). Content-addressed: the workers of a run that compile
  the same variant, and variants whose bodies are equal (exclusions that only dropped a block
  over the slot's max), write one row. A body names its edition (the personal links are signed
  for it), so editions never share one.
- ``archive_edition`` says which bodies each edition's variants were sent with: a few rows per
  variant, whatever the number of recipients; ``prune`` works on it.
- ``delivery.body_digest`` (the ledger) names the body each customer was sent. The worker stores
  a body when it first compiles the variant, in a transaction committed before any message of it
  is handed over, and the digest goes onto the row in the statement that records it ``sent``
  (``ledger.record``): a row that says sent never points at a body that is not there. The send's
  extra work is O(variants) per worker; per recipient only that one more column of the UPDATE.

``sent_copy`` answers what one customer was sent: the body (``Sent.body``), or ``Sent.body`` None
when the archive was pruned; None altogether when the ledger names no archived body (not sent,
or sent before the archive existed, which the web version still renders from the content).

Pruning (``newsletter archive prune --older-than``) deletes the bodies of editions dated before
a day, and their ``archive_edition`` rows: O(variants) rows, never the ledger's. The deliveries
keep their digests, so a pruned web version is told apart from one that was never archived.
Since no two editions share a body, a prune touches only what the pruned editions sent (the
query still keeps any body another edition names).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (Column, Connection, Date, Index, Integer, LargeBinary, PrimaryKeyConstraint, String,
                        Table, delete, exists, func, select)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

import preferences.models  # noqa: F401  (sets the naming convention on the shared metadata)
from preferences.utc import UTCDateTime, utcnow

from service.assembly.sent import SentBody
from service.sending.ledger import EditionKey
from service.sending.tables import SENT, delivery

COMPRESSION = "zlib"
ZLIB_LEVEL = 9  # once per body: the smallest output is worth the few milliseconds

archive_body = Table(
    "archive_body", SQLModel.metadata,
    Column("digest", String(64), primary_key=True),  # sha256 hex of SentBody.to_bytes()
    Column("compression", String(16), nullable=False),
    Column("size", Integer, nullable=False),  # bytes before compression
    Column("data", LargeBinary, nullable=False),
    Column("archived_at", UTCDateTime(), nullable=False),
)

archive_edition = Table(
    "archive_edition", SQLModel.metadata,
    Column("template", String(64), nullable=False),
    Column("edition_date", Date, nullable=False),
    Column("variant", String(200), nullable=False),  # the deliveries' label of it
    Column("digest", String(64), nullable=False),
    PrimaryKeyConstraint("template", "edition_date", "variant", "digest"),
    Index("ix_archive_edition_digest", "digest"),
)


@dataclass(frozen=True)
class Sent:
    """What the ledger says one customer was sent."""

    variant: str | None
    digest: str
    sent_at: datetime
    body: SentBody | None  # None: the archive of this edition was pruned


@dataclass(frozen=True)
class Pruned:
    editions: int  # editions whose archive was deleted
    bodies: int
    compressed_bytes: int


def store(conn: Connection, edition: EditionKey, variant: str, body: SentBody) -> str:
    """Archive ``body`` as sent with ``variant`` of ``edition`` (a body already there stays as it
    is); returns its digest, which the deliveries of it then carry."""
    raw = body.to_bytes()
    digest = hashlib.sha256(raw).hexdigest()  # as body.digest(), without serialising it twice
    insert = _insert(conn, archive_body).values(digest=digest, compression=COMPRESSION, size=len(raw),
                                                data=zlib.compress(raw, ZLIB_LEVEL), archived_at=utcnow())
    conn.execute(insert.on_conflict_do_nothing())
    conn.execute(_insert(conn, archive_edition).values(template=edition.template, edition_date=edition.day,
                                                       variant=variant, digest=digest).on_conflict_do_nothing())
    return digest


def sent_copy(conn: Connection, edition: EditionKey, customer_id: int) -> Sent | None:
    """The body ``customer_id`` was sent in ``edition``; None when the ledger names none."""
    d, b = delivery.c, archive_body.c
    found = conn.execute(
        select(d.variant, d.body_digest, d.updated_at, b.compression, b.data)
        .select_from(delivery.outerjoin(archive_body, b.digest == d.body_digest))
        .where(edition.where(), d.customer_id == customer_id, d.state == SENT, d.body_digest.is_not(None))
    ).first()
    if found is None:
        return None
    body = None if found.data is None else body_from(found.compression, found.data)
    return Sent(found.variant, found.body_digest, found.updated_at, body)


def prune(conn: Connection, before: date) -> Pruned:
    """Delete the archive of every edition dated before ``before``."""
    e, b = archive_edition.c, archive_body.c
    editions = conn.execute(select(func.count()).select_from(
        select(e.template, e.edition_date).where(e.edition_date < before).distinct().subquery())).scalar_one()
    conn.execute(delete(archive_edition).where(e.edition_date < before))
    orphan = ~exists().where(e.digest == b.digest)
    size = conn.execute(select(func.count(), func.coalesce(func.sum(func.length(b.data)), 0)).where(orphan)).one()
    conn.execute(delete(archive_body).where(orphan))
    return Pruned(editions, size[0], int(size[1]))


def body_from(compression: str, data: bytes) -> SentBody:
    """A stored body read back (``archive_body``'s ``compression`` and ``data``)."""
    if compression != COMPRESSION:
        raise ValueError(f"archived body compressed with {compression!r}, which this version cannot read")
    return SentBody.from_bytes(zlib.decompress(data))


def _insert(conn: Connection, table: Table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)

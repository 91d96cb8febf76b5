"""Table models of the preference centre: Customer, Preference, ConsentEvent.

The schema itself is owned by the Alembic migrations in ``migrations/``; these models must match
them (``tests/preferences/test_database.py`` compares the two on SQLite and PostgreSQL).

Request paths use these objects through a Session; the send's bulk reads use the same tables
through SQLAlchemy Core (``Customer.__table__`` and friends, see ``store.iter_send_candidates``).
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Index, Integer, String, Text, func, true
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from preferences.utc import UTCDateTime, utcnow

# Deterministic constraint names: SQLite batch migrations can only drop or alter a constraint
# that has a name, and the names in migrations/ must equal these for the model/schema comparison.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Frequency(StrEnum):
    """How often a customer wants the newsletter."""

    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


class Status(StrEnum):
    """Whether a customer gets newsletters at all (pending: waiting for a confirmation click)."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    PENDING = "pending"


class Channel(StrEnum):
    """Through which door a change came in, recorded on every consent event."""

    PAGE = "page"
    ONE_CLICK = "one-click"
    API = "api"
    IMPORT = "import"
    MAILTO = "mailto"  # an unsubscribe mail to the List-Unsubscribe mailto address
    SIGNUP = "signup"  # the hosted signup page or a shop's embedded signup form
    COMPLAINT = "complaint"  # a feedback-loop complaint ("this is spam") from a mailbox provider
    BOUNCE = "bounce"  # an address suppressed because its mails bounced
    OPERATOR = "operator"  # an operator at the command line (the actor is their name)
    SYSTEM = "system"  # the service's own rules, e.g. an unconfirmed signup deleted after its time


def new_public_id() -> str:
    """A fresh random public id: 22 URL-safe characters, 128 bits, never sequential."""
    return secrets.token_urlsafe(16)


def _enum(enum: type[StrEnum], name: str) -> SAEnum:
    # A VARCHAR with a CHECK constraint rather than a native PostgreSQL ENUM: adding a value later
    # is then a plain migration on both databases. values_callable stores "active", not "ACTIVE".
    return SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


def _json() -> JSON:
    # JSONB on PostgreSQL: comparable, indexable; JSON text on SQLite.
    return JSON().with_variant(JSONB(), "postgresql")


class Customer(SQLModel, table=True):
    """A newsletter recipient, as known from the CRM."""

    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    # The only identifier that ever appears in a URL: random, so links are not enumerable.
    public_id: str = Field(
        default_factory=new_public_id, sa_column=Column(String(22), nullable=False, unique=True, index=True)
    )
    external_id: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    # Unique case-insensitively: see the functional index below the class.
    email: str = Field(sa_column=Column(String(320), nullable=False))
    first_name: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    locale: str = Field(sa_column=Column(String(16), nullable=False))
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(_json(), nullable=False))
    status: Status = Field(default=Status.ACTIVE, sa_column=Column(_enum(Status, "status"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


# Two rows for "Anna@example.de" and "anna@example.de" would mean two emails to one person; the
# local part is kept as written (it may be case-sensitive on delivery) but unique when lowercased.
Index("uq_customer_email_lower", func.lower(Customer.__table__.c.email), unique=True)


class Preference(SQLModel, table=True):
    """What one customer chose: pace, pause, excluded product groups and whether their clicks are
    measured (one row per customer)."""

    __tablename__ = "preference"

    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    )
    frequency: Frequency = Field(
        default=Frequency.WEEKLY, sa_column=Column(_enum(Frequency, "frequency"), nullable=False)
    )
    # Editions dated before this day are skipped; the edition on this day is sent.
    paused_until: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # Sorted product group ids, so equal choices compare equal and variants group well.
    excluded_groups: list[str] = Field(default_factory=list, sa_column=Column(_json(), nullable=False))
    # False: the customer asked not to have their clicks measured (their emails' links are untracked).
    click_tracking: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    # Bumped on every change of the customer's choices: a form built from an older version is stale.
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ConsentEvent(SQLModel, table=True):
    """One change of a consent-relevant field: the append-only audit trail."""

    __tablename__ = "consent_event"

    id: int | None = Field(default=None, primary_key=True)
    # Not a foreign key: the trail outlives the customer (an unconfirmed signup is deleted after
    # its time, and the event that says so, and the ones before it, stay).
    customer_id: int = Field(sa_column=Column(Integer, nullable=False, index=True))
    field: str = Field(sa_column=Column(String(32), nullable=False))
    # JSON-encoded text (see consent.encode_value); NULL when there is no old or new value.
    old_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    new_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    channel: Channel = Field(sa_column=Column(_enum(Channel, "channel"), nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # sha256 hex of IP and user agent, for changes made on the page (see consent.client_hash).
    client_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # Who made an operator's change: the API key's name (see consent.acting_as); never a secret.
    actor: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # The edition whose link (unsubscribe, preferences) the change came from, if it came from one
    # (see consent.from_edition): the results count churn and narrower choices per edition.
    template: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    edition_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))

    __table_args__ = (Index("ix_consent_event_edition", "template", "edition_date"),)

    @property
    def old(self) -> Any:
        """The decoded old value."""
        return None if self.old_value is None else json.loads(self.old_value)

    @property
    def new(self) -> Any:
        """The decoded new value."""
        return None if self.new_value is None else json.loads(self.new_value)


customer_table = Customer.__table__
preference_table = Preference.__table__
consent_event_table = ConsentEvent.__table__

"""The suppression list and the bounce and complaint reports, as the migrations create them
(``migrations/versions/0010_address_lifecycle.py``; ``tests/preferences/test_database.py``
compares the two on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Table, Text
from sqlmodel import SQLModel

import preferences.models  # noqa: F401  (sets the naming convention on the shared metadata)
from preferences.utc import UTCDateTime

# What a report says happened to one message for one recipient.
HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
KINDS = (HARD, SOFT, COMPLAINT)
# Why an address is suppressed: a hard bounce, soft bounces past the limit, a complaint, or an
# operator's decision.
HARD_BOUNCE, SOFT_BOUNCES, COMPLAINED, MANUAL = "hard-bounce", "soft-bounces", "complaint", "manual"
REASONS = (HARD_BOUNCE, SOFT_BOUNCES, COMPLAINED, MANUAL)
# Where a report came from: a bounce mailbox (Maildir, IMAP) or a relay's webhook.
MAILBOX, WEBHOOK = "mailbox", "webhook"
SOURCES = (MAILBOX, WEBHOOK)
DETAIL_LIMIT = 500


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


suppression = Table(
    "suppression", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    # lower(email): one row per address however it was written.
    Column("address", String(320), nullable=False, unique=True),
    # The customer the address belonged to when it was suppressed (NULL once they are deleted).
    Column("customer_id", Integer, ForeignKey("customer.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("reason", String(16), nullable=False),
    Column("detail", String(DETAIL_LIMIT), nullable=True),  # e.g. "5.1.1 user unknown", or the operator's note
    Column("actor", String(64), nullable=True),  # the operator (API key name, CLI user) for a manual one
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint(_one_of("reason", REASONS), name="reason"),
)

bounce_report = Table(
    "bounce_report", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    # What makes a report itself: the report's Message-ID (or webhook event id) and the recipient;
    # reading the same mailbox or receiving the same webhook twice records nothing twice.
    Column("report_key", String(400), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("address", String(320), nullable=False),  # lower(email) of the recipient it is about
    Column("customer_id", Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=True),
    # The edition of the message it is about, where the ledger knew it (bounce rates per edition).
    Column("template", String(64), nullable=True),
    Column("edition_date", Date, nullable=True),
    Column("message_id", String(200), nullable=True),
    Column("status", String(16), nullable=True),  # RFC 3463 code, e.g. 5.1.1; NULL for a complaint
    Column("detail", Text, nullable=True),  # the diagnostic code or the complaint's feedback type
    Column("reported_at", UTCDateTime(), nullable=False),  # when the report says it happened
    Column("recorded_at", UTCDateTime(), nullable=False),
    CheckConstraint(_one_of("kind", KINDS), name="kind"),
    CheckConstraint(_one_of("source", SOURCES), name="source"),
    Index("ix_bounce_report_customer", "customer_id", "kind", "reported_at"),
    Index("ix_bounce_report_edition", "template", "edition_date"),
)

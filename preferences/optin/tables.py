"""The double opt-in's tables, as the migrations create them (``migrations/versions/
0011_double_opt_in.py``; ``tests/preferences/test_database.py`` compares the two)."""

from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import SQLModel

import preferences.models  # noqa: F401  (sets the naming convention on the shared metadata)
from preferences.utc import UTCDateTime

USER_AGENT_LIMIT = 300
# The outbox's kinds of mail, and the states a queued mail goes through.
CONFIRMATION = "confirmation"
KINDS = (CONFIRMATION,)
QUEUED, CLAIMED, SENT, FAILED = "queued", "claimed", "sent", "failed"
STATES = (QUEUED, CLAIMED, SENT, FAILED)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


consent_text = Table(
    "consent_text", SQLModel.metadata,
    # "<locale>-<first 16 hex of sha256(text)>": the same wording always has the same version.
    Column("version", String(40), primary_key=True),
    Column("locale", String(16), nullable=False),
    Column("text", Text, nullable=False),  # exactly what the customer read, as plain text
    Column("first_shown_at", UTCDateTime(), nullable=False),
)

opt_in = Table(
    "opt_in", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("channel", String(16), nullable=False),  # signup, page (a resubscribe), api, import
    Column("source", String(200), nullable=True),  # "hosted", or the host of the shop page a form is embedded in
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("request_client", String(64), nullable=True),  # consent.client_hash of the request
    Column("request_user_agent", String(USER_AGENT_LIMIT), nullable=True),
    Column("request_wording", String(40), ForeignKey("consent_text.version"), nullable=True),
    # What the request asked for, applied when it is confirmed (first name, language, groups).
    Column("requested", JSON().with_variant(JSONB(), "postgresql"), nullable=True),
    Column("expires_at", UTCDateTime(), nullable=False),  # the confirm link's end
    Column("confirmed_at", UTCDateTime(), nullable=True),
    Column("confirm_client", String(64), nullable=True),
    Column("confirm_user_agent", String(USER_AGENT_LIMIT), nullable=True),
    Column("confirm_channel", String(16), nullable=True),
    Column("confirm_wording", String(40), ForeignKey("consent_text.version"), nullable=True),
    Index("ix_opt_in_open", "customer_id", "confirmed_at"),
    Index("ix_opt_in_confirmed", "confirmed_at"),  # who confirmed on a day: the welcome mail (0013)
)

outbox = Table(
    "outbox", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("customer_id", Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("opt_in_id", Integer, ForeignKey("opt_in.id", ondelete="CASCADE"), nullable=True),
    Column("state", String(16), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),  # not tried before this (back-off after a relay's 4xx)
    Column("attempts", Integer, nullable=False),
    Column("claimed_by", String(100), nullable=True),
    Column("claimed_at", UTCDateTime(), nullable=True),
    Column("message_id", String(200), nullable=True),
    Column("answer", Text, nullable=True),  # the relay's last answer
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    CheckConstraint(_one_of("kind", KINDS), name="kind"),
    CheckConstraint(_one_of("state", STATES), name="state"),
    Index("ix_outbox_work", "state", "due_at"),
)

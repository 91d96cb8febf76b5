"""The delivery ledger's two tables, as the migrations create them: ``send_run`` (one row per
edition) and ``delivery`` (one row per edition and customer), and the states a row goes through.
The queries on them are ``service.sending.ledger``'s; ``Claim`` and ``Outcome`` are the values its
workers' queries take and give (``ledger.Claim``, ``ledger.Outcome``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Table, Text,
                        UniqueConstraint, false)
from sqlmodel import SQLModel

import preferences.models  # noqa: F401  (sets the naming convention on the shared metadata)
from preferences.utc import UTCDateTime

PENDING, CLAIMED, SENT, SKIPPED, FAILED = "pending", "claimed", "sent", "skipped", "failed"
STATES = (PENDING, CLAIMED, SENT, SKIPPED, FAILED)
TERMINAL = (SENT, SKIPPED, FAILED)
# A customer of a tested edition outside its test sample: not claimable until the experiments are
# decided, then pending with the winners' arms (service/sending/phases.py). Not terminal.
HELD = "held"
# delivery.phase of a tested edition: in the test sample, outside it (held), released to the winner.
TEST, REST, WINNER = "test", "rest", "winner"
# Reasons and relay answers are cut to this length: a report, not a log.
TEXT_LIMIT = 500

send_run = Table(
    "send_run", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column("template", String(64), nullable=False),
    Column("edition_date", Date, nullable=False),
    Column("content_version", String(32), nullable=True),
    # True once one plan pass went through every customer (a --limit run does not set it).
    Column("plan_complete", Boolean, nullable=False, default=False),
    # True while only --limit test runs planned the edition: `send --due` does not count it as started.
    Column("test_runs_only", Boolean, nullable=False, default=False, server_default=false()),
    # A tested edition (`send --test 10%`): the sample's share in basis points; NULL: not tested.
    Column("test_share", Integer, nullable=True),
    # When the test sample was through (no row of it left to send): decide_after counts from then.
    Column("test_done_at", UTCDateTime(), nullable=True),
    # When the decisions released the held rows, and the arms they get (``exp=b;...``, "" for none).
    Column("released_at", UTCDateTime(), nullable=True),
    Column("winner_arms", Text, nullable=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=True),
    UniqueConstraint("template", "edition_date", name="uq_send_run_template_edition_date"),
)

delivery = Table(
    "delivery", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column("template", String(64), nullable=False),
    Column("edition_date", Date, nullable=False),
    Column("customer_id", Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(TEXT_LIMIT), nullable=True),
    Column("segment", String(64), nullable=True),
    Column("variant", String(200), nullable=True),
    Column("message_id", String(200), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(100), nullable=True),
    Column("claimed_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("answer", Text, nullable=True),  # the relay's last answer, as it said it
    # The archived body it was sent (service/sending/archive.py): sha256 hex, set with "sent".
    Column("body_digest", String(64), nullable=True),
    # A pending row the relay deferred for its recipient alone is not claimed before this time
    # (its back-off, service/sending/batch.py); NULL: claimable at once.
    Column("not_before", UTCDateTime(), nullable=True),
    # The arms of the experiments the customer was sent (``brand/hero-advent=b;...``), set with
    # the outcome: service/content/experiments.py.
    Column("arms", Text, nullable=True),
    # Of a tested edition: test (in the sample), rest (held for the decision), winner (released,
    # ``arms`` then holds the winners' arms it is to get); NULL in an edition without a test.
    Column("phase", String(8), nullable=True),
    UniqueConstraint("template", "edition_date", "customer_id", name="uq_delivery_template_edition_customer"),
    CheckConstraint("state IN ('pending', 'claimed', 'sent', 'skipped', 'failed', 'held')", name="state"),
    # The claim's: fresh rows (not_before NULL) in id order, waiting ones by their time.
    Index("ix_delivery_work", "template", "edition_date", "state", "not_before"),
    Index("ix_delivery_customer", "customer_id", "template", "edition_date"),
    # A bounce or complaint names the message it is about: found by its Message-ID.
    Index("ix_delivery_message_id", "message_id"),
)


@dataclass(frozen=True)
class Claim:
    """A row a worker claimed."""

    id: int
    customer_id: int
    attempts: int
    phase: str | None = None
    arms: str | None = None

    @property
    def given_arms(self) -> dict[str, str] | None:
        """The arms a row released by its experiments' decision is to get (None: the customer's own)."""
        if self.phase != WINNER:
            return None
        return dict(part.split("=", 1) for part in (self.arms or "").split(";") if "=" in part)


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed row."""

    id: int
    state: str  # sent, skipped, failed, or pending (released: try again later)
    reason: str | None = None
    segment: str | None = None
    variant: str | None = None
    message_id: str | None = None
    answer: str | None = None
    tried: bool = True  # False: released without an attempt (does not use up an attempt)
    body_digest: str | None = None  # the archived body sent (service/sending/archive.py)
    arms: str | None = None  # the experiments' arms it holds: brand/hero-advent=b;... (experiments.arms_text)
    not_before: datetime | None = None  # pending: not claimed again before then (a back-off)

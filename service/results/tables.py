"""The click table, as the migrations create it: one row per recorded click on a tracked link.

The customer is kept by public id (the one the link carried); the segment and variant are the
ones the ledger recorded for the customer's delivery of that edition."""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, String, Table, Text
from sqlmodel import SQLModel

import preferences.models  # noqa: F401  (sets the naming convention on the shared metadata)
from preferences.utc import UTCDateTime

click = Table(
    "click", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column("template", String(64), nullable=False),
    Column("edition_date", Date, nullable=False),
    Column("customer", String(22), nullable=False),  # the customer's public id
    Column("owner", String(200), nullable=False),    # a block id, or "layout"
    Column("team", String(64), nullable=False),
    Column("link_index", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("segment", String(64), nullable=True),
    Column("variant", String(200), nullable=True),
    Column("clicked_at", UTCDateTime(), nullable=False),
    Column("client_hash", String(64), nullable=False),
    Index("ix_click_edition", "template", "edition_date", "owner"),
    Index("ix_click_customer", "customer", "template", "edition_date"),
)

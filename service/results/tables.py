"""The results tables, as the migrations create them.

``click``: one row per recorded click on a tracked link. The customer is kept by public id (the
one the link carried); the segment and variant are the ones the ledger recorded for the
customer's delivery of that edition; ``verdict`` is NULL until ``refresh`` judged the click
(``human``, or a machine's: ``early``, ``sweep``; see ``service.results.machines``).

``result_click`` and ``result_audience``: the rollups ``refresh`` writes per edition, segment and
variant, so every figure a page shows is a sum over a few hundred rows, whatever the number of
clicks. Clicks are counted by dimension (the edition, a block, a team, a link, a product group)
with their unique clickers; a customer belongs to one segment and variant per edition, so
summing clickers over segments and variants stays exact. The audience is what the ledger and the
preference centre say: delivered, unsubscribed, and the narrower choices made from the edition.
``result_state`` remembers how far ``refresh`` read."""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, PrimaryKeyConstraint, String, Table, Text
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
    Column("verdict", String(8), nullable=True),  # NULL: not judged yet
    Index("ix_click_edition", "template", "edition_date", "owner"),
    Index("ix_click_customer", "customer", "template", "edition_date"),
)

HUMAN, EARLY, SWEEP = "human", "early", "sweep"
# Dimensions of result_click.key: "" (the edition), a block id or "layout", a team, "<block>#<n>"
# (the block's link n; detail: its URL), a product group.
EDITION, BLOCK, TEAM, LINK, PRODUCT_GROUP = "edition", "block", "team", "link", "product-group"

result_click = Table(
    "result_click", SQLModel.metadata,
    Column("template", String(64), nullable=False),
    Column("edition_date", Date, nullable=False),
    Column("dimension", String(16), nullable=False),
    Column("key", String(220), nullable=False),
    Column("segment", String(64), nullable=False),  # "" where the delivery was not found
    Column("variant", String(200), nullable=False),
    Column("detail", Text, nullable=False),         # a link's URL; "" otherwise
    Column("clicks", Integer, nullable=False),
    Column("clickers", Integer, nullable=False),
    Column("machine_clicks", Integer, nullable=False),
    PrimaryKeyConstraint("template", "edition_date", "dimension", "key", "segment", "variant"),
)

# Measures of result_audience: delivered, unsubscribed, frequency (key: the new frequency),
# paused, excluded (key: the product group), narrowed (any of the last three, a slower pace only).
DELIVERED, UNSUBSCRIBED, FREQUENCY, PAUSED, EXCLUDED = "delivered", "unsubscribed", "frequency", "paused", "excluded"
NARROWED = "narrowed"
MEASURED = "measured"  # the delivered whose clicks were measured (not opted out): rates are over them

result_audience = Table(
    "result_audience", SQLModel.metadata,
    Column("template", String(64), nullable=False),
    Column("edition_date", Date, nullable=False),
    Column("measure", String(16), nullable=False),
    Column("key", String(64), nullable=False),
    Column("segment", String(64), nullable=False),
    Column("variant", String(200), nullable=False),
    Column("customers", Integer, nullable=False),
    PrimaryKeyConstraint("template", "edition_date", "measure", "key", "segment", "variant"),
)

result_state = Table(
    "result_state", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column("click_id", Integer, nullable=False),          # the last click refresh read
    Column("consent_event_id", Integer, nullable=False),  # the last consent event refresh read
    Column("refreshed_at", UTCDateTime(), nullable=False),
)

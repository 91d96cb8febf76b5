"""What each variant of an edition held: the send's record of which blocks its recipients got.

A delivery row names its variant (``segment/locale[/-exclusions]``); ``variant_block`` says which
blocks (and the layout) that variant held, so a block's click rate is taken over the recipients
who got that block, not over everyone. ``block_group`` names each block's product groups. One
row per (edition, variant, block): a few hundred per edition, whatever its number of recipients,
written by the worker that first compiles the variant (a second writer changes nothing).

A customer who opted out of click measuring gets the variant compiled untracked, and their
delivery the variant's label with ``UNTRACKED`` after it: the results count them as delivered,
but not among the recipients a click rate is taken over (their clicks are never recorded).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Connection, Date, Integer, PrimaryKeyConstraint, String, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

import preferences.models  # noqa: F401  (sets the naming convention on the shared metadata)

from service.assembly.edition import Assembly
from service.assembly.tracking import LAYOUT

UNTRACKED = " (untracked)"


def untracked(label: str | None) -> str | None:
    """The label of a variant sent with no tracked link (to a customer who opted out)."""
    return None if label is None else label + UNTRACKED


def is_untracked(label: str) -> bool:
    return label.endswith(UNTRACKED)


variant_block = Table(
    "variant_block", SQLModel.metadata,
    Column("template", String(64), nullable=False),
    Column("edition_date", Date, nullable=False),
    Column("variant", String(200), nullable=False),
    Column("owner", String(200), nullable=False),  # a block id, or "layout"
    Column("team", String(64), nullable=False),    # "" for the layout
    Column("slot", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("position", Integer, nullable=False),   # order in the mail, 0 = the layout
    PrimaryKeyConstraint("template", "edition_date", "variant", "owner"),
)

block_group = Table(
    "block_group", SQLModel.metadata,
    Column("template", String(64), nullable=False),
    Column("edition_date", Date, nullable=False),
    Column("owner", String(200), nullable=False),
    Column("product_group", String(64), nullable=False),
    PrimaryKeyConstraint("template", "edition_date", "owner", "product_group"),
)


def contents_of(assembly: Assembly) -> list[dict]:
    """The variant_block rows of one variant (without the edition's columns)."""
    rows = [{"owner": LAYOUT, "team": "", "slot": "", "title": "Layout", "position": 0}]
    position = 1
    for fill in assembly.fills:
        for block in fill.chosen:
            rows.append({"owner": block.id, "team": block.team, "slot": fill.slot.name,
                         "title": block.title[:200], "position": position})
            position += 1
    return rows


def record_variant(conn: Connection, template: str, day: date, label: str, assembly: Assembly) -> None:
    """Write what the variant ``label`` of an edition holds; rows already there stay as they are."""
    edition = {"template": template, "edition_date": day}
    blocks = [{**edition, "variant": label, **row} for row in contents_of(assembly)]
    groups = [{**edition, "owner": block.id, "product_group": group}
              for block in assembly.blocks for group in sorted(block.product_groups)]
    for table, rows in ((variant_block, blocks), (block_group, groups)):
        if rows:
            conn.execute(_insert_new(conn, table), rows)


def _insert_new(conn: Connection, table: Table):
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()

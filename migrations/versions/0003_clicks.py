"""Clicks on tracked links: one row per recorded click.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Written by hand to match service/results/tables.py (tests/service/results/test_recorder.py
compares them on SQLite and PostgreSQL).
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "click",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("customer", sa.String(22), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("link_index", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("segment", sa.String(64), nullable=True),
        sa.Column("variant", sa.String(200), nullable=True),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click")),
    )
    op.create_index(op.f("ix_click_edition"), "click", ["template", "edition_date", "owner"])
    op.create_index(op.f("ix_click_customer"), "click", ["customer", "template", "edition_date"])


def downgrade() -> None:
    op.drop_table("click")
